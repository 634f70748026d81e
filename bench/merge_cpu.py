"""Benchmark: CPU time of one sync merge in-process, batch of 1 (a poster rating) and of 50.

Unlike bench/load_bench.py this leaves out HTTP, threads and the client, so it is steady on a
shared machine: it times ``sync.merge.merge_batch`` with the process's CPU clock over many
batches on a fresh store, after a warm-up that fills the worker's caches. Run it on two
checkouts in turn to compare them (`git worktree add /tmp/old <commit>`):

    .venv/bin/python bench/merge_cpu.py [--database-url URL]

A PostgreSQL database given here is wiped (all tables dropped) first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

import load_bench  # noqa: E402

from sync.db import normalise_url  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--batches", type=int, default=1500, help="of one rating (50: ÷ 25)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="merge-cpu-")
    url = normalise_url(args.database_url or f"sqlite:///{tmp.name}/bench.db")
    poster, visit, codes = load_bench.prepare_store(url)
    os.environ.update(DATABASE_URL=url, SECRET_KEY=load_bench.SECRET)
    import load_app

    from collector.extensions import db
    from collector.links import link_cache, signer
    from sync.merge import merge_batch

    app = load_app.create()
    print(f"store: {url.split('@')[-1]}")
    with app.app_context():
        for kind, count in (("sync-1", args.batches), ("sync-50", max(args.batches // 25, 20))):
            bodies = [json.loads(b) for b in
                      load_bench.bodies(kind, count + 50, poster, visit, codes)]
            for body in bodies[:50]:  # warm the caches
                merge_batch(db.session, signer(), body, client_ip="192.0.2.1", cache=link_cache())
            start = time.process_time()
            for body in bodies[50:]:
                merge_batch(db.session, signer(), body, client_ip="192.0.2.1", cache=link_cache())
            cpu = (time.process_time() - start) / count
            print(f"{kind:8s} CPU per batch {cpu * 1000:7.3f} ms ({count} batches)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
