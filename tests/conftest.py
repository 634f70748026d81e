"""Fixtures: a fresh app and store per test, on SQLite by default or on PostgreSQL when
TEST_DATABASE_URL points at one (CI runs the whole suite on both)."""

from __future__ import annotations

import io
import os
import threading
import uuid
from contextlib import redirect_stderr
from datetime import date, datetime, timedelta, timezone

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS
from flask import g
from flask_migrate import stamp
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from collector import create_app
from collector.extensions import db as _db
from sync.campaigns import add_units, create_campaign, create_visit
from sync.links import issue_link, sign_link
from sync.models import Base, Channel

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "test-artifacts")

SEED000_ITEMS = ["efficiency", "attitude", "competence", "conduct", "integrity"]


def pytest_report_header(config):  # type: ignore[no-untyped-def]
    return f"store: {TEST_DATABASE_URL or 'SQLite (temporary file per test)'}"


@pytest.fixture(scope="session")
def _pg_schema():
    """Create the schema once per session on PostgreSQL; tests truncate instead of rebuilding."""
    if not TEST_DATABASE_URL:
        yield None
        return
    engine = create_engine(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:  # fails loudly when PostgreSQL is unreachable
        conn.execute(text("SELECT 1"))
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def database_url(tmp_path, _pg_schema) -> str:
    if _pg_schema is None:
        return "sqlite:///" + str(tmp_path / "collector.db")
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with _pg_schema.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return TEST_DATABASE_URL  # type: ignore[return-value]


_stamped: list[str] = []  # PostgreSQL: the shared schema is stamped once per session


@pytest.fixture
def app(database_url, tmp_path):  # type: ignore[no-untyped-def]
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PUBLIC_BASE_URL": "http://testserver",
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": True,
        # Tests post far faster than phones; the tests of these limits set their own.
        "SYNC_RATE_LIMIT": "100000 per minute",
        "ADDRESS_RATE_LIMIT": "100000 per minute",
        "FORM_RATE_LIMIT": "100000 per minute",
    })
    @app.before_request
    def _fresh_g() -> None:
        # This fixture keeps one app context pushed for the whole test and Flask reuses it for
        # test requests, so per-request caches in `g` would leak between requests.
        for name in ("current_user", "csrf_token"):
            g.pop(name, None)

    with app.app_context():
        if database_url.startswith("sqlite") or not _stamped:
            if database_url.startswith("sqlite"):
                _db.create_all()
            # Mark the schema as migrated so `collector init-db`/`demo` find nothing to do.
            with redirect_stderr(io.StringIO()):
                stamp()
            _stamped.append(database_url)
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def session(app):  # type: ignore[no-untyped-def]
    return _db.session


@pytest.fixture
def make_campaign(session):  # type: ignore[no-untyped-def]
    """Factory: a committed campaign with units {category: [(code, name)]}."""

    def make(template: str = "jiguan5", units: dict | None = None, **kwargs):  # type: ignore[no-untyped-def]
        today = date.today()
        kwargs.setdefault("opens_on", today - timedelta(days=30))
        kwargs.setdefault("closes_on", today + timedelta(days=30))
        campaign = create_campaign(session, kwargs.pop("title", "测试评议活动"),
                                   kwargs.pop("year", today.year), template, **kwargs)
        add_units(session, campaign, units or {
            "政府工作部门": [("ZF01", "市场监管局"), ("ZF02", "人社局")],
            "中直单位": [("ZZ01", "税务局")],
        })
        session.commit()
        return campaign

    return make


@pytest.fixture
def make_link(app, session):  # type: ignore[no-untyped-def]
    """Factory: issue a link and return (link, token)."""

    def make(campaign, codes=None, channel=Channel.ONLINE, visit_place=None, max_age=None):  # type: ignore[no-untyped-def]
        units = [u for u in campaign.units if codes is None or u.code in codes]
        if codes is None:
            units = units[:1]
        visit = create_visit(session, campaign, visit_place) if visit_place else None
        link = issue_link(session, campaign, units, channel, visit, max_age)
        session.commit()
        return link, sign_link(app.extensions["link_signer"], link)

    return make


@pytest.fixture
def make_item():  # type: ignore[no-untyped-def]
    """Factory: one valid sync item for seed 000's questionnaire."""

    def make(token: str, level: str = "satisfied", **overrides):  # type: ignore[no-untyped-def]
        item = {
            "id": str(uuid.uuid4()),
            "token": token,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "answers": {key: level for key in SEED000_ITEMS},
            "comment": "",
            "identity": "enterprise",
        }
        item.update(overrides)
        return item

    return make


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """One headless Chromium for the whole run (Playwright's sync API allows one driver)."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_url(app):  # type: ignore[no-untyped-def]
    """The app served on a free loopback port, for a real browser to visit."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def artifacts_dir() -> str:
    os.makedirs(ARTIFACTS, exist_ok=True)
    return ARTIFACTS
