"""Login throttling with RATELIMIT_STORAGE_URI pointed at Redis: counters outlive one process.

scripts/system-deps.sh starts redis-server on 127.0.0.1:6379; this test fails if it is down.
"""

from __future__ import annotations

import uuid

import pytest
import redis

from collector import create_app
from collector.extensions import db

from .conftest import csrf_from

REDIS_URL = "redis://127.0.0.1:6379/0"


def make_host(database_url: str, storage: str, prefix: str):  # type: ignore[no-untyped-def]
    """A second app instance, as another gunicorn worker or host would build it."""
    return create_app({
        "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_STORAGE_URI": storage, "RATELIMIT_KEY_PREFIX": prefix,
        "LOGIN_RATE_LIMIT": "5 per day",  # no window boundary inside the test
    })


def fail_then_try(host, password: str) -> int:  # type: ignore[no-untyped-def]
    client = host.test_client()
    with host.app_context():
        reply = client.post("/admin/login", data={
            "username": "admin", "password": password,
            "csrf_token": csrf_from(client, "/admin/login")})
        db.session.remove()
    return reply.status_code


@pytest.mark.parametrize("storage,expected", [(REDIS_URL, 429), ("memory://", 401)])
def test_failed_logins_are_shared_through_the_storage(app, database_url, make_user, storage,
                                                      expected):
    make_user("admin")
    prefix = f"pingyi-test-{uuid.uuid4().hex}"
    hosts = []
    try:
        hosts.append(make_host(database_url, storage, prefix))
        for _ in range(5):
            assert fail_then_try(hosts[0], "wrong") == 401
        assert fail_then_try(hosts[0], "wrong") == 429
        # a freshly started worker: with Redis it sees the same counters; memory:// forgets them
        hosts.append(make_host(database_url, storage, prefix))
        assert fail_then_try(hosts[1], "wrong") == expected
    finally:
        for host in hosts:
            with host.app_context():
                db.engine.dispose()
        conn = redis.Redis.from_url(REDIS_URL)
        keys = list(conn.scan_iter(f"*{prefix}*"))
        if storage == REDIS_URL:
            assert keys, "the Redis storage should have held the counters"
        if keys:
            conn.delete(*keys)
        conn.close()
