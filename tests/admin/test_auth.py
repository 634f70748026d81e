"""Accounts: login, logout, CSRF on every admin form, throttled failed logins, create-admin."""

from __future__ import annotations

from werkzeug.security import check_password_hash

from sync.models import Role, User

from .conftest import PASSWORD, csrf_from


def test_login_and_logout(client, make_user, login, session):
    user = make_user("admin")
    assert user.password_hash != PASSWORD and check_password_hash(user.password_hash, PASSWORD)
    reply = login("admin")
    assert reply.status_code == 302
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/admin/campaigns").status_code == 200
    token = csrf_from(client, "/admin/campaigns")
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/campaigns").status_code == 302  # back to the login page


def test_wrong_password_is_refused_in_chinese(client, make_user, login):
    make_user("admin")
    reply = login("admin", "wrong-password")
    assert reply.status_code == 401
    assert "用户名或密码错误" in reply.get_data(as_text=True)
    assert client.get("/admin/campaigns").status_code == 302


def test_session_cookie_is_secure_behind_https(app, monkeypatch):
    from collector.config import from_environment

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://pingyi.example.cn")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert from_environment(app.instance_path)["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://localhost:8000")
    assert from_environment(app.instance_path)["SESSION_COOKIE_SECURE"] is False


def test_login_post_without_csrf_token_is_refused(client, make_user):
    make_user("admin")
    reply = client.post("/admin/login", data={"username": "admin", "password": PASSWORD})
    assert reply.status_code == 400
    assert "安全校验码" in reply.get_data(as_text=True)


def test_admin_form_post_without_csrf_token_is_refused(admin_client, session):
    from sync.models import Campaign

    reply = admin_client.post("/admin/campaigns/new", data={
        "title": "无令牌", "year": "2026", "bottom_n": "2", "status": "open",
        "template": "jiguan5"})
    assert reply.status_code == 400
    text = reply.get_data(as_text=True)
    assert "安全校验码" in text and "<html" in text
    assert session.query(Campaign).count() == 0
    # a forged token is refused the same way
    reply = admin_client.post("/admin/campaigns/new", data={
        "title": "伪造", "year": "2026", "bottom_n": "2", "status": "open",
        "template": "jiguan5", "csrf_token": "forged"})
    assert reply.status_code == 400
    assert session.query(Campaign).count() == 0


def test_phones_post_without_csrf(client, make_campaign, make_link, make_item):
    """The survey form and the sync API have no session and stay exempt."""
    campaign = make_campaign()
    _, token = make_link(campaign)
    reply = client.post("/api/v1/sync", json={"device_id": "d", "responses": [make_item(token)]})
    assert reply.status_code == 200 and reply.json["results"][0]["status"] == "stored"
    form = {f"a.{k}": "satisfied" for k in
            ["efficiency", "attitude", "competence", "conduct", "integrity"]}
    reply = client.post(f"/s/{token}", data={**form, "identity": "enterprise"})
    assert reply.status_code == 200


def test_repeated_bad_logins_are_throttled(app, client, make_user, login):
    # A day-long window: the test cannot straddle a window boundary however slow the machine.
    app.config["LOGIN_RATE_LIMIT"] = "5 per day"
    make_user("admin")
    for _ in range(5):
        assert login("admin", "guess").status_code == 401
    reply = login("admin", "guess")
    assert reply.status_code == 429
    assert "操作过于频繁" in reply.get_data(as_text=True)
    # even the right password waits until the window passes
    assert login("admin").status_code == 429
    # another username from the same address is counted separately
    make_user("other", Role.SECRETARY)
    assert login("other").status_code == 302


def test_successful_logins_are_not_counted(client, make_user, login):
    make_user("admin")
    for _ in range(8):
        assert login("admin").status_code == 302


def test_create_admin_prompts_for_password(runner, session, login):
    result = runner.invoke(args=["create-admin", "chief"], input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    user = session.query(User).filter_by(username="chief").one()
    assert user.role == Role.ADMIN
    assert check_password_hash(user.password_hash, "s3cret-pass")
    assert login("chief", "s3cret-pass").status_code == 302
    # a mismatched confirmation creates nothing
    result = runner.invoke(args=["create-admin", "other"], input="aaaaaaaa\nbbbbbbbb\n")
    assert result.exit_code != 0
    assert session.query(User).filter_by(username="other").count() == 0


def test_login_redirect_stays_on_site(client, make_user):
    make_user("admin")
    token = csrf_from(client, "/admin/login")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        reply = client.post(f"/admin/login?next={target}",
                            data={"username": "admin", "password": PASSWORD, "csrf_token": token})
        assert reply.status_code == 302
        assert reply.headers["Location"] == "/admin/"
        client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/campaigns")})
        token = csrf_from(client, "/admin/login")


def test_password_change_ends_other_sessions(app, client, make_user, login, session):
    from sync.accounts import set_password

    user = make_user("admin")
    assert login("admin").status_code == 302
    assert client.get("/admin/campaigns").status_code == 200
    set_password(user, "brand-new-pass")
    session.commit()
    assert client.get("/admin/campaigns").status_code == 302
    assert login("admin", "brand-new-pass").status_code == 302
    assert client.get("/admin/campaigns").status_code == 200
