"""Secrets, sessions, security headers, HEAD and login timing (issue 8, both stores)."""

from __future__ import annotations

import re
import stat
import threading
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from collector import create_app, security
from collector.auth import session_stamp
from collector.extensions import db
from qr.links import LinkSigner
from sync.accounts import create_user
from sync.links import sign_link
from sync.models import Link, Role

PUBLIC_DEV_KEY = "dev-only-secret-change-me"  # the default every old install ran with


@pytest.fixture
def keyless_host(app, database_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Factory: the app as scripts/serve.sh starts it (no SECRET_KEY), on the test store, with
    its instance folder in tmp; each call is a restart of the same install."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    made = []

    def start():  # type: ignore[no-untyped-def]
        host = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                           "PUBLIC_BASE_URL": "http://testserver"}, instance_path=str(instance))
        made.append(host)
        return host

    yield start
    for host in made:
        with host.app_context():
            db.engine.dispose()


def _demo_poster_url(host) -> str:  # type: ignore[no-untyped-def]
    result = host.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    match = re.search(r"poster link .*: http://testserver(/s/\S+)", result.output)
    assert match, result.output
    return match.group(1)


def test_without_secret_key_a_private_key_is_generated_and_kept(keyless_host, tmp_path):
    first = keyless_host()
    key_file = tmp_path / "instance" / security.SECRET_FILE
    assert first.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) >= 40
    assert first.config["SECRET_KEY"] != PUBLIC_DEV_KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert keyless_host().config["SECRET_KEY"] == first.config["SECRET_KEY"]  # a restart


def test_a_link_printed_before_a_restart_still_opens(keyless_host):
    with (host := keyless_host()).app_context():
        path = _demo_poster_url(host)
        assert host.test_client().get(path).status_code == 200
        db.session.remove()
    restarted = keyless_host()
    with restarted.app_context():
        assert restarted.test_client().get(path).status_code == 200
        db.session.remove()


def test_forged_cookie_and_link_fail_on_a_default_install(keyless_host):
    host = keyless_host()
    with host.app_context():
        path = _demo_poster_url(host)  # the demo made admin user 1 and a poster link
        client = host.test_client()
        # Session cookies signed with the old public development key, with and without a stamp
        # (an attacker can compute neither: the stamp is keyed too, and the key is not public).
        for payload in ({"user_id": 1}, {"user_id": 1, "stamp": "0" * 24}):
            client.set_cookie(host.config["SESSION_COOKIE_NAME"],
                              _sign_session(host, PUBLIC_DEV_KEY, payload))
            reply = client.get("/admin/users")
            assert reply.status_code == 302 and "/admin/login" in reply.headers["Location"]
        # A link for the demo's poster unit, signed with the public key.
        link = db.session.scalar(db.select(Link).order_by(Link.id))
        forged_link = sign_link(LinkSigner([PUBLIC_DEV_KEY]), link)
        assert forged_link != path.removeprefix("/s/")
        assert client.get(f"/s/{forged_link}").status_code == 403
        assert client.get(f"/api/v1/forms/{forged_link}").status_code == 403
        assert client.get(path).status_code == 200  # the genuine link works
        db.session.remove()


def _sign_session(host, key: str, payload: dict) -> str:  # type: ignore[no-untyped-def]
    """A Flask session cookie signed with `key` (what an attacker who knows it can make)."""
    original = host.secret_key
    host.secret_key = key
    try:
        return host.session_interface.get_signing_serializer(host).dumps(payload)
    finally:
        host.secret_key = original


@pytest.mark.parametrize("variable", ["SECRET_KEY", "SECRET_KEY_FALLBACKS"])
def test_a_published_secret_key_is_refused(monkeypatch, tmp_path, variable):
    monkeypatch.setenv(variable, PUBLIC_DEV_KEY)
    with pytest.raises(security.InsecureSecretKey):
        create_app(instance_path=str(tmp_path))


def test_workers_starting_at_once_agree_on_one_key(tmp_path):
    barrier = threading.Barrier(8)
    keys: list[str] = []

    def worker() -> None:
        barrier.wait()
        keys.append(security.instance_secret(tmp_path))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == [security.SECRET_FILE]  # no temporary left


# --- sessions need a current password stamp ---

def test_session_without_a_stamp_is_refused(app, client, session):
    admin = create_user(session, "boss", "boss-password-1", Role.ADMIN)
    session.commit()
    with client.session_transaction() as cookie:
        cookie["user_id"] = admin.id  # signed with the real key, but no stamp
    assert client.get("/admin/users").status_code == 302
    with client.session_transaction() as cookie:
        cookie["stamp"] = "0" * 24
    assert client.get("/admin/users").status_code == 302
    with client.session_transaction() as cookie:
        cookie["stamp"] = session_stamp(admin)
    assert client.get("/admin/users").status_code == 200


def test_a_password_change_ends_old_sessions(app, client, session):
    admin = create_user(session, "boss", "boss-password-1", Role.ADMIN)
    session.commit()
    with client.session_transaction() as cookie:
        cookie.update(user_id=admin.id, stamp=session_stamp(admin))
    assert client.get("/admin/users").status_code == 200
    admin.password_hash = generate_password_hash("a-new-password-2")
    session.commit()
    assert client.get("/admin/users").status_code == 302


# --- login takes the same work for unknown users ---

def test_unknown_user_costs_a_password_hash_check(app, client, session, monkeypatch):
    from collector import auth

    create_user(session, "boss", "boss-password-1", Role.ADMIN)
    session.commit()
    checked: list[str] = []
    real = auth.check_password_hash

    def spy(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", spy)
    app.config["WTF_CSRF_ENABLED"] = False
    for username in ("nobody", "boss"):
        reply = client.post("/admin/login", data={"username": username, "password": "wrong"})
        assert reply.status_code == 401
    assert len(checked) == 2
    # The dummy is made like a real hash (same method, same cost).
    dummy, real_hash = checked
    assert dummy.split("$")[0] == real_hash.split("$")[0]


# --- HEAD is GET without a body on every public page ---

def test_head_answers_like_get_on_public_pages(client, make_campaign, make_link, session):
    link, token = make_link(make_campaign())
    paths = [f"/s/{token}", f"/q/{link.short_code}", f"/api/v1/forms/{token}", "/healthz",
             "/s/sw.js", "/admin/login", "/api/v1/openapi.json", "/s/not-a-token"]
    for path in paths:
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code, path
        assert head.data == b"", path
        assert head.headers["Content-Type"] == get.headers["Content-Type"], path
    session.rollback()
    from sync.models import Response

    assert session.scalar(db.select(db.func.count()).select_from(Response)) == 0


# --- security headers and the CSP nonce ---

INLINE = re.compile(r"<(script|style)\b([^>]*)>", re.I)


def _check_page(reply) -> None:  # type: ignore[no-untyped-def]
    policy = reply.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)  # type: ignore[union-attr]
    assert f"script-src 'self' 'nonce-{nonce}'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "same-origin"
    page = reply.get_data(as_text=True)
    tags = INLINE.findall(page)
    for name, attrs in tags:
        if 'type="application/json"' in attrs:
            continue  # data, never run
        assert f'nonce="{nonce}"' in attrs, (name, attrs)
    # Nothing inline that a nonce cannot cover: no style="" and no on…="" handlers.
    assert not re.search(r"\sstyle=", page), re.search(r".{40}\sstyle=.{40}", page)
    assert not re.search(r"\son[a-z]+=", page)


def test_form_page_inline_code_carries_a_fresh_nonce(client, make_campaign, make_link):
    campaign = make_campaign()
    _, poster = make_link(campaign)
    _, visit = make_link(campaign, ["ZF01", "ZF02"], visit_place="红星村")
    for token in (poster, visit):
        first, second = client.get(f"/s/{token}"), client.get(f"/s/{token}")
        assert first.status_code == 200
        _check_page(first)
        assert (first.headers["Content-Security-Policy"]
                != second.headers["Content-Security-Policy"])


def test_admin_pages_inline_code_carries_the_nonce(app, client, session, make_campaign,
                                                   make_link):
    campaign = make_campaign()
    make_link(campaign)
    _check_page(client.get("/admin/login"))
    admin = create_user(session, "boss", "boss-password-1", Role.ADMIN)
    session.commit()
    with client.session_transaction() as cookie:
        cookie.update(user_id=admin.id, stamp=session_stamp(admin))
    for path in (f"/admin/campaigns/{campaign.id}/links", f"/admin/campaigns/{campaign.id}/dashboard",
                 f"/admin/campaigns/{campaign.id}/results", f"/admin/campaigns/{campaign.id}/posters/",
                 f"/admin/campaigns/{campaign.id}/posters/print", "/admin/users"):
        reply = client.get(path)
        assert reply.status_code == 200, path
        _check_page(reply)


def test_json_and_errors_carry_the_headers_too(client):
    for reply in (client.get("/healthz"), client.get("/s/nonsense"), client.get("/nowhere")):
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]


def test_an_embeddable_page_may_be_framed(tmp_path, database_url):
    host = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                       "SQLALCHEMY_DATABASE_URI": database_url,
                       "EMBED_FRAME_ANCESTORS": "https://gov.example.cn"},
                      instance_path=str(tmp_path))

    @host.get("/board")
    @security.embeddable
    def board():  # type: ignore[no-untyped-def]
        return "board"

    reply = host.test_client().get("/board")
    assert "X-Frame-Options" not in reply.headers
    assert "frame-ancestors https://gov.example.cn" in reply.headers["Content-Security-Policy"]
    assert host.test_client().get("/healthz").headers["X-Frame-Options"] == "DENY"
    with host.app_context():
        db.engine.dispose()


def test_templates_have_no_inline_handlers_or_style_attributes():
    """The admin templates not reached above (forms, follow-ups…) obey the CSP as well."""
    root = Path(__file__).resolve().parent.parent / "collector" / "templates"
    for template in root.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+=", text), template
        assert not re.search(r"\sstyle=", text), template
        for name, attrs in INLINE.findall(text):
            assert "csp_nonce()" in attrs or "application/json" in attrs, (template, name)
