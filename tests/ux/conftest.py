"""Fixtures for the newcomer-experience tests (issue 12): signed-in phone pages in Chromium."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from werkzeug.security import generate_password_hash

from collector.auth import session_stamp
from sync.models import Role, User

ITEM_KEYS = ["efficiency", "attitude", "competence", "conduct", "integrity"]
LEVELS = {"S": "satisfied", "B": "basic", "U": "unsatisfied"}
PHONE = {"width": 375, "height": 667}


def sign_in(client, user: User) -> None:  # type: ignore[no-untyped-def]
    """Sign the test client in as `user` (the session a login makes)."""
    with client.session_transaction() as sess:
        sess["user_id"] = user.id
        sess["stamp"] = session_stamp(user)


@pytest.fixture
def make_user(session):  # type: ignore[no-untyped-def]
    def make(username: str, role: Role = Role.ADMIN, units=()) -> User:  # type: ignore[no-untyped-def]
        user = User(username=username, role=role, units=list(units),
                    password_hash=generate_password_hash("correct horse battery"))
        session.add(user)
        session.commit()
        return user

    return make


@pytest.fixture
def rate(client, make_link):  # type: ignore[no-untyped-def]
    """Factory: rate(campaign, code, "SSBBU", n=1) through /api/v1/sync, a phone per rater."""
    tokens: dict[tuple[int, str], str] = {}

    def submit(campaign, code: str, letters: str, n: int = 1, comment: str = "") -> None:  # type: ignore[no-untyped-def]
        if (campaign.id, code) not in tokens:
            tokens[(campaign.id, code)] = make_link(campaign, [code])[1]
        for _ in range(n):
            item = {"id": str(uuid.uuid4()), "token": tokens[(campaign.id, code)],
                    "created_at": datetime.now(timezone.utc).isoformat(), "comment": comment,
                    "identity": "enterprise",
                    "answers": {k: LEVELS[x] for k, x in zip(ITEM_KEYS, letters, strict=True)}}
            reply = client.post("/api/v1/sync", json={"device_id": str(uuid.uuid4()),
                                                      "responses": [item]})
            assert reply.json["results"][0]["status"] == "stored", reply.json

    return submit


@pytest.fixture
def phone(app, browser, live_url):  # type: ignore[no-untyped-def]
    """Factory: a 375×667 page, signed in as `user` when given."""
    contexts = []

    def open_page(user: User | None = None):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
        context.set_default_timeout(20_000)
        contexts.append(context)
        if user is not None:
            cookie = app.session_interface.get_signing_serializer(app).dumps(
                {"user_id": user.id, "stamp": session_stamp(user)})
            context.add_cookies([{"name": app.config.get("SESSION_COOKIE_NAME", "session"),
                                  "value": cookie, "url": live_url}])
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
