"""Fixtures for the cadre pages: accounts, signing in with a real CSRF token, posting forms."""

from __future__ import annotations

import re

import pytest

from sync.accounts import create_user
from sync.models import Role

PASSWORD = "correct-horse-9"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(client, url: str) -> str:  # type: ignore[no-untyped-def]
    """GET a page and return the CSRF token of its first form."""
    page = client.get(url)
    match = TOKEN_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


@pytest.fixture
def make_user(session):  # type: ignore[no-untyped-def]
    """Factory: a committed account; secretaries get the given units."""

    def make(username: str = "admin", role: Role = Role.ADMIN, units=()):  # type: ignore[no-untyped-def]
        user = create_user(session, username, PASSWORD, role, units=list(units))
        session.commit()
        return user

    return make


@pytest.fixture
def login(client):  # type: ignore[no-untyped-def]
    """Sign the test client in through the login form (with its CSRF token)."""

    def do(username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        token = csrf_from(client, "/admin/login")
        return client.post("/admin/login", data={"username": username, "password": password,
                                                 "csrf_token": token})

    return do


@pytest.fixture
def post_form(client):  # type: ignore[no-untyped-def]
    """POST a form with the CSRF token taken from the page that shows it."""

    def do(page_url: str, action_url: str | None = None, data=None, **kwargs):  # type: ignore[no-untyped-def]
        payload = dict(data or {})
        payload["csrf_token"] = csrf_from(client, page_url)
        return client.post(action_url or page_url, data=payload, **kwargs)

    return do


@pytest.fixture
def admin_client(client, make_user, login):  # type: ignore[no-untyped-def]
    """The test client signed in as an admin."""
    make_user("admin", Role.ADMIN)
    assert login("admin").status_code == 302
    return client
