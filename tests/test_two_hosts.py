"""Two app servers (separate gunicorn processes on different ports, as two hosts would be) on one
store and one Redis: the same batches through both at once are stored exactly once, and a link
revoked through one is refused at once by the other, whose cache is warm.

Runs against the store the suite is on (PostgreSQL with TEST_DATABASE_URL, else an SQLite file).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sync.models import Channel, Response, Role
from sync.reports import campaign_tally

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
PASSWORD = "correct-horse-battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_hosts(app, database_url):  # type: ignore[no-untyped-def]
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": app.config["SECRET_KEY"],
           "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
           "PUBLIC_BASE_URL": "http://testserver"}
    servers, bases = [], []
    for _ in range(2):
        port = free_port()
        servers.append(subprocess.Popen(
            [GUNICORN, "--workers", "1", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
             "collector:create_app()"], cwd=ROOT, env=env))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base in bases:
            for _ in range(150):
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=2) as reply:
                        if reply.status == 200:
                            break
                except OSError:
                    time.sleep(0.1)
            else:
                raise AssertionError(f"{base} did not come up")
        yield bases
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)


def post_json(url: str, body: dict) -> dict:  # type: ignore[type-arg]
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 200
        return json.load(reply)


def item(token: str, created_at: datetime | None = None) -> dict:  # type: ignore[type-arg]
    return {"id": str(uuid.uuid4()), "token": token, "unit": "ZF01",
            "created_at": (created_at or datetime.now(timezone.utc)).isoformat(),
            "answers": dict.fromkeys(["efficiency", "attitude", "competence", "conduct",
                                      "integrity"], "satisfied"),
            "comment": "", "identity": "enterprise"}


class Admin:
    """A browser-like client: cookies, and the CSRF token scraped from each form page."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def csrf(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as reply:
            found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', reply.read().decode())
        assert found, path
        return found.group(1)

    def post(self, path: str, data: dict[str, str]) -> int:
        body = urllib.parse.urlencode(data).encode()
        with self.opener.open(self.base + path, body, timeout=30) as reply:
            return reply.status


def test_two_hosts_store_once_and_share_revocations(two_hosts, session, make_campaign,
                                                    make_link):
    from sync.accounts import create_user

    host_a, host_b = two_hosts
    campaign = make_campaign()
    link, token = make_link(campaign, ["ZF01"], Channel.VISIT, "青山村")
    create_user(session, "chief", PASSWORD, Role.ADMIN)
    session.commit()

    # The same ten batches through both hosts at once.
    batches = [[item(token) for _ in range(20)] for _ in range(10)]
    replies: dict[tuple[str, int], dict] = {}  # type: ignore[type-arg]

    def send(base: str, k: int) -> None:
        replies[(base, k)] = post_json(base + "/api/v1/sync",
                                       {"device_id": f"field-{k}", "responses": batches[k]})

    threads = [threading.Thread(target=send, args=(base, k))
               for k in range(len(batches)) for base in two_hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(len(batches)):
        a = [r["status"] for r in replies[(host_a, k)]["results"]]
        b = [r["status"] for r in replies[(host_b, k)]["results"]]
        for sa, sb in zip(a, b, strict=True):
            assert sorted([sa, sb]) == ["duplicate", "stored"], (sa, sb)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Response)) == 200
    (unit,) = [u for u in campaign_tally(session, campaign).units() if u.code == "ZF01"]
    assert unit.respondents == 200

    # Both hosts have the link cached; revoke it through host A's admin page.
    admin = Admin(host_a)
    assert admin.post("/admin/login", {"username": "chief", "password": PASSWORD,
                                       "csrf_token": admin.csrf("/admin/login")}) == 200
    csrf = admin.csrf(f"/admin/campaigns/{campaign.id}/links")
    assert admin.post(f"/admin/links/{link.id}/revoke", {"csrf_token": csrf}) == 200

    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    for base in (host_b, host_a):
        (result,) = post_json(base + "/api/v1/sync", {"device_id": "late",
                                                      "responses": [item(token, after)]}
                              )["results"]
        assert result["status"] == "rejected", base
        assert "停用" in result["error"]
