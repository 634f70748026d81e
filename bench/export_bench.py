"""Benchmark: the responses CSV export against a raw SELECT of the same rows.

Fills a fresh store with N responses (default 1,000,000; bulk SQL, see tally_bench.py), then
in the same run times:

* raw SELECT — one query fetching every response of the campaign with its answers (joined),
               all rows into Python: the floor for "read the rows";
* CSV export — ``csv_chunks(responses_table(...))``, exactly what the download streams: keyset
               pages of 50,000 formatted by the store (labels, Beijing times, formula guard,
               the CSV text itself), two pages read at once; an admin's export (with fraud
               signals, judged on the whole campaign) unless ``--without-signals``.

and prints rows/s of each, their ratio, the time to the first chunk, the bytes written and the
load average before and after (the machine is shared: absolute rates move with it, the ratio
less so). Goals: ≥ 50,000 rows/s, first bytes within a second. On demand only:

    .venv/bin/python bench/export_bench.py [--responses N] [--database-url URL] [--threads N]

A PostgreSQL database given here is wiped (all tables dropped) first; `--reuse` keeps a store
seeded by an earlier run with the same --responses (for trying changes; not for figures).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from tally_bench import build  # noqa: E402

from sync.db import configure_engine, normalise_url  # noqa: E402
from sync.exports.csv import csv_chunks  # noqa: E402
from sync.exports.paging import READ_THREADS  # noqa: E402
from sync.exports.responses import responses_table  # noqa: E402
from sync.models import Base, Campaign  # noqa: E402

RAW_SQL = text("""
SELECT r.id, r.uuid, r.unit_id, r.channel, r.visit_id, r.created_at, r.received_at,
       r.identity_key, r.comment, r.flags, a.item_id, a.level_id
FROM responses r JOIN answers a ON a.response_id = r.id
WHERE r.campaign_id = :campaign ORDER BY r.created_at, r.id
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=80)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--without-signals", action="store_true",
                        help="a secretary's export (no 风险提示 column, no campaign-wide scan)")
    parser.add_argument("--threads", type=int, default=READ_THREADS,
                        help=f"pages read at once (default {READ_THREADS}, as the download)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the store of an earlier run (with --database-url)")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="export-bench-")
    url = normalise_url(args.database_url or f"sqlite:///{tmp.name}/bench.db")
    engine = create_engine(url)
    configure_engine(engine)
    print(f"store: {url.split('@')[-1]}")
    with Session(engine) as session:
        campaign = session.get(Campaign, 1) if args.reuse else None
        if campaign is None:
            Base.metadata.drop_all(engine)
            Base.metadata.create_all(engine)
            start = time.perf_counter()
            campaign = build(session, args.responses, args.units)
            print(f"seeded {args.responses:,} responses in {time.perf_counter() - start:.1f} s")
            if engine.dialect.name == "postgresql":
                # as autovacuum would have by now: index-only scans need the visibility map
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE responses")
                    conn.exec_driver_sql("VACUUM ANALYZE answers")
        load_before = os.getloadavg()

        start = time.perf_counter()
        with engine.connect() as conn:
            raw_rows = len(conn.execute(RAW_SQL, {"campaign": campaign.id}).all())
        raw = time.perf_counter() - start
        responses_per_s_raw = args.responses / raw

        start = time.perf_counter()
        first_chunk = None
        size = lines = 0
        chunks = csv_chunks(responses_table(session, campaign,
                                            with_signals=not args.without_signals,
                                            read_threads=args.threads))
        for chunk in chunks:
            if first_chunk is None:
                first_chunk = time.perf_counter() - start
            size += len(chunk.encode())
            lines += chunk.count("\r\n")
        export = time.perf_counter() - start
    engine.dispose()
    assert lines - 1 == args.responses, f"{lines - 1:,} rows written"
    rate = args.responses / export
    print(f"raw SELECT : {raw:7.1f} s  {responses_per_s_raw:9,.0f} responses/s  "
          f"({raw_rows:,} joined rows)")
    print(f"CSV export : {export:7.1f} s  {rate:9,.0f} rows/s  {size / 1e6:.0f} MB, "
          f"{lines - 1:,} rows, first chunk after {first_chunk or 0:.3f} s, "
          f"{args.threads} page(s) at once")
    print(f"ratio export / raw SELECT = {rate / responses_per_s_raw:.2f}; goal >= 50,000 rows/s: "
          f"{'met' if rate >= 50_000 else 'NOT met'}")
    after = os.getloadavg()
    print(f"load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}, after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
