"""Sync limits hold across 3 gunicorn workers sharing counters in Redis (db 5).

The app is served exactly as deployed (gunicorn 'collector:create_app()') on a loopback port,
against the test store. scripts/system-deps.sh starts redis-server; this fails if it is down.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/5"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, device: str) -> int:
    body = json.dumps({"device_id": device, "responses": []}).encode()
    request = urllib.request.Request(url + "/api/v1/sync", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        assert exc.code != 429 or int(exc.headers["Retry-After"]) >= 1
        return exc.code


@pytest.fixture
def gunicorn(app, database_url, tmp_path):  # type: ignore[no-untyped-def]
    """Three workers on a loopback port; counters in Redis under a prefix of this run."""
    prefix = f"pingyi-test-{uuid.uuid4().hex}"
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
           "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix,
           "SYNC_RATE_LIMIT": "5 per hour", "ADDRESS_RATE_LIMIT": "14 per hour"}
    server = subprocess.Popen(
        [GUNICORN, "--workers", "3", "--bind", f"127.0.0.1:{port}", "collector:create_app()"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # up to 20 s for the workers to boot
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()  # type: ignore
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not answer /healthz")
        yield url
    finally:
        server.terminate()
        server.wait(15)
        server.stderr.close()  # type: ignore[union-attr]
        conn = redis.Redis.from_url(REDIS_URL)
        keys = list(conn.scan_iter(f"*{prefix}*"))
        if keys:
            conn.delete(*keys)
        conn.close()
        assert keys, "the counters should have been kept in Redis"


def test_limits_hold_across_three_workers(gunicorn):
    # Each request lands on whichever worker accepts it; the counters must still add up.
    burst = [_post(gunicorn, "phone-a") for _ in range(9)]
    assert burst == [200] * 5 + [429] * 4
    # Another phone at the same address is not blocked by that burst…
    assert [_post(gunicorn, "phone-b") for _ in range(5)] == [200] * 5
    # …but made-up device ids from one address stop at the address limit (14 per hour: the 10
    # requests accepted so far count, the 4 refused ones do not).
    statuses = [_post(gunicorn, f"made-up-{n}") for n in range(6)]
    assert statuses.count(200) == 4 and statuses[-2:] == [429, 429]
