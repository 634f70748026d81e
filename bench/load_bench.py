"""Benchmark: POST /api/v1/sync under load against a bare Flask JSON route on the same gunicorn.

Starts gunicorn (default: 2 gthread workers × 4 threads, as scripts/serve.sh runs) on a fresh
store, then, in the same run, drives it with a bounded Python client on loopback (N threads,
one connection per request, as phones do):

* bare     — POST /bench/bare (bench/load_app.py): parses the JSON, answers JSON, no store;
* sync-1   — POST /api/v1/sync with one new rating from a new phone (a poster scan);
* sync-50  — POST /api/v1/sync with 50 new ratings (a field worker's offline queue).

and prints req/s, p50/p95/p99 and sync ÷ bare (goal for sync-1: ≥ 0.6). Run on demand:

    .venv/bin/python bench/load_bench.py                                   # SQLite file
    .venv/bin/python bench/load_bench.py --database-url postgresql://postgres:postgres@127.0.0.1/DB

A PostgreSQL database given here is wiped (all tables dropped) first. The client shares the
machine with the server, so absolute figures are modest; the ratio is what is compared.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from qr.links import LinkSigner  # noqa: E402
from sync.campaigns import add_units, create_campaign, create_visit  # noqa: E402
from sync.db import configure_engine, normalise_url  # noqa: E402
from sync.links import issue_link, sign_link  # noqa: E402
from sync.models import Base, Channel  # noqa: E402

SECRET = "load-bench-secret"
ITEMS = ["efficiency", "attitude", "competence", "conduct", "integrity"]
LEVELS = ["satisfied", "basic", "unsatisfied"]


def prepare_store(url: str) -> tuple[str, str, list[str]]:
    """Fresh schema, a campaign of 20 units, a poster link over all of them and a visit link."""
    engine = create_engine(url)
    configure_engine(engine)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    signer = LinkSigner([SECRET])
    with Session(engine) as session:
        campaign = create_campaign(session, "压力测试", 2026, "jiguan5")
        units = add_units(session, campaign, {"政府工作部门": [
            (f"ZF{i:02d}", f"单位{i:02d}") for i in range(20)]})
        poster = issue_link(session, campaign, units)
        visit = issue_link(session, campaign, units, Channel.VISIT,
                           create_visit(session, campaign, "红星村", "李明"))
        session.commit()
        tokens = sign_link(signer, poster), sign_link(signer, visit)
        codes = [u.code for u in units]
    engine.dispose()
    return tokens[0], tokens[1], codes


def item(token: str, code: str) -> dict:
    return {"id": str(uuid.uuid4()), "token": token, "unit": code,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "answers": {k: random.choice(LEVELS[:2]) for k in ITEMS},
            "comment": "", "identity": "enterprise"}


def bodies(kind: str, n: int, poster: str, visit: str, codes: list[str]) -> list[bytes]:
    out = []
    for _ in range(n):
        if kind == "sync-50":
            body = {"device_id": str(uuid.uuid4()),
                    "responses": [item(visit, random.choice(codes)) for _ in range(50)]}
        else:
            body = {"device_id": str(uuid.uuid4()),
                    "responses": [item(poster, random.choice(codes))]}
        out.append(json.dumps(body).encode())
    return out


def drive(port: int, path: str, payloads: list[bytes], concurrency: int,
          check: bool) -> tuple[float, list[float]]:
    """Send every payload once from `concurrency` threads; return (seconds, latencies)."""
    queue = list(reversed(payloads))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                payload = queue.pop()
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("POST", path, payload, {"Content-Type": "application/json"})
            reply = conn.getresponse()
            data = reply.read()
            conn.close()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if reply.status != 200 or (check and any(
                        r["status"] != "stored" for r in json.loads(data)["results"])):
                    errors.append(f"{reply.status} {data[:200]!r}")

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return seconds, latencies


def server_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by gunicorn's workers."""
    total = 0.0
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"],
                        help="gthread, as scripts/serve.sh runs; sync as main ran")
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="load-bench-")
    url = normalise_url(args.database_url or f"sqlite:///{tmp.name}/bench.db")
    poster, visit, codes = prepare_store(url)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET,
           # one client address sends everything: lift the per-address limit for the run
           "ADDRESS_RATE_LIMIT": "1000000 per minute", "SYNC_RATE_LIMIT": "1000000 per minute",
           "PYTHONPATH": str(ROOT)}
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "--chdir", str(ROOT / "bench"),
           "--workers", str(args.workers), "--worker-class", args.worker_class,
           "--threads", str(args.threads), "--bind", f"127.0.0.1:{args.port}",
           "--log-level", "warning", "load_app:create()"]
    server = subprocess.Popen(cmd, env=env)
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not come up")
        print(f"store: {url.split('@')[-1]}; gunicorn {args.workers} {args.worker_class} "
              f"workers; client: {args.concurrency} threads on loopback")
        n50 = max(args.requests // 10, 50)
        plan = [("bare", "/bench/bare", bodies("sync-1", args.requests, poster, visit, codes)),
                ("sync-1", "/api/v1/sync", bodies("sync-1", args.requests, poster, visit, codes)),
                ("bare-50", "/bench/bare", bodies("sync-50", n50, poster, visit, codes)),
                ("sync-50", "/api/v1/sync", bodies("sync-50", n50, poster, visit, codes))]
        for _name, path, payloads in plan:  # warm every worker's caches and connections
            drive(args.port, path, payloads[:40], args.concurrency, check=False)
        results = {}
        for name, path, payloads in plan:
            cpu = server_cpu(server.pid)
            seconds, lat = drive(args.port, path, payloads[40:], args.concurrency,
                                 check=name.startswith("sync"))
            cpu = (server_cpu(server.pid) - cpu) / len(lat)
            results[name] = (len(lat) / seconds, lat)
            print(f"{name:8s} {len(lat) / seconds:8.0f} req/s   p50 {pct(lat, .5):6.1f} ms   "
                  f"p95 {pct(lat, .95):6.1f} ms   p99 {pct(lat, .99):6.1f} ms   "
                  f"server CPU {cpu * 1000:.2f} ms/request")
        r1 = results["sync-1"][0] / results["bare"][0]
        r50 = results["sync-50"][0] / results["bare-50"][0]
        print(f"ratio sync-1 / bare = {r1:.2f}  (goal >= 0.6: {'met' if r1 >= 0.6 else 'NOT met'})")
        print(f"ratio sync-50 / bare-50 = {r50:.2f}  "
              f"({results['sync-50'][0] * 50:.0f} ratings/s)")
    finally:
        server.terminate()
        server.wait(timeout=30)
        tmp.cleanup()


if __name__ == "__main__":
    main()
