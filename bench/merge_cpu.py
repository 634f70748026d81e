"""Benchmark: CPU time of one sync merge in-process, batch of 1 (a poster rating) and of 50.

Unlike bench/load_bench.py this leaves out HTTP, threads and the client, so it is steady on a
shared machine: it times ``sync.merge.merge_batch`` with the process's CPU clock over many
batches on a fresh store, after a warm-up that fills the worker's caches. Run it on two
checkouts in turn to compare them (`git worktree add /tmp/old <commit>`):

    .venv/bin/python bench/merge_cpu.py [--database-url URL]

On SQLite it also prints the floor under the sync ratio of bench/load_bench.py: the CPU spent
inside the sqlite3 driver's own C calls (execute, executemany, commit, fetch) for a batch of one,
read off cProfile, against the whole bare route in-process (Flask's test client). No Python
around the store can make a sync request cheaper than bare + that.

A PostgreSQL database given here is wiped (all tables dropped) first.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
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
        if db.engine.dialect.name == "sqlite":
            bodies = load_bench.bodies("sync-1", args.batches, poster, visit, codes)
            driver = _driver_cpu([json.loads(b) for b in bodies], lambda body: merge_batch(
                db.session, signer(), body, client_ip="192.0.2.1", cache=link_cache()))
            bare = _bare_cpu(app, bodies)
            print(f"sqlite3 C calls per batch of 1 {driver * 1000:.3f} ms; bare route in-process "
                  f"{bare * 1000:.3f} ms: sync/bare can be at most {bare / (bare + driver):.2f}")
    tmp.cleanup()


def _driver_cpu(bodies: list[dict], merge) -> float:  # type: ignore[no-untyped-def, type-arg]
    """Seconds per batch spent in the sqlite3 module's C methods, by cProfile's own time."""
    profile = cProfile.Profile()
    profile.enable()
    for body in bodies:
        merge(body)
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    spent = sum(own for (_file, _line, name), (_cc, _nc, own, _cum, _callers) in stats.items()
                if "sqlite3." in name)
    return spent / len(bodies)


def _bare_cpu(app, bodies: list[bytes]) -> float:  # type: ignore[no-untyped-def]
    """CPU seconds per POST /bench/bare through Flask's test client."""
    client = app.test_client()
    for body in bodies[:50]:
        client.post("/bench/bare", data=body, content_type="application/json")
    start = time.process_time()
    for body in bodies:
        client.post("/bench/bare", data=body, content_type="application/json")
    return (time.process_time() - start) / len(bodies)


if __name__ == "__main__":
    main()
