"""A unit secretary sees only their units; set-up pages are admin-only; every page escapes."""

from __future__ import annotations

import re

import pytest

from sync.campaigns import create_visit
from sync.models import Campaign, Link, Role, Unit, User

from .conftest import PASSWORD, csrf_from

SCRIPT = "<script>alert(1)</script>"
ATTR = '" onmouseover="x'


@pytest.fixture
def setup(make_campaign, make_link, make_user, session):  # type: ignore[no-untyped-def]
    """Two campaigns; secretary 'mine' holds ZF01 of the first campaign only."""
    first = make_campaign()
    second = make_campaign(title="另一活动")
    link, _ = make_link(first, codes=["ZF02"])
    own = next(u for u in first.units if u.code == "ZF01")
    secretary = make_user("mine", Role.SECRETARY, units=[own])
    other = make_user("theirs", Role.SECRETARY, units=[second.units[0]])
    return {"first": first, "second": second, "own": own, "link": link,
            "secretary": secretary, "other": other}


def admin_urls(s):  # type: ignore[no-untyped-def]
    first, own = s["first"], s["own"]
    return [
        "/admin/campaigns", "/admin/campaigns/new", f"/admin/campaigns/{first.id}",
        f"/admin/campaigns/{first.id}/units", f"/admin/campaigns/{first.id}/questionnaire",
        f"/admin/campaigns/{first.id}/links", f"/admin/units/{own.id}/edit",
        f"/admin/units/{s['second'].units[0].id}/edit", "/admin/users",
        f"/admin/users/{s['secretary'].id}", "/admin/campaigns/99999", "/admin/units/99999/edit",
    ]


def admin_posts(s):  # type: ignore[no-untyped-def]
    first = s["first"]
    return [
        ("/admin/campaigns/new", {"title": "x", "year": "2026", "bottom_n": "2",
                                  "status": "open", "template": "jiguan5"}),
        (f"/admin/campaigns/{first.id}", {"title": "被改", "year": "2026", "bottom_n": "2",
                                          "status": "closed"}),
        (f"/admin/campaigns/{first.id}/categories", {"name": "新类别"}),
        (f"/admin/campaigns/{first.id}/units", {"category_id": first.categories[0].id,
                                                "code": "NEW1", "name": "新单位"}),
        (f"/admin/units/{s['own'].id}/edit", {"category_id": first.categories[0].id,
                                              "code": "ZF01", "name": "被改"}),
        (f"/admin/campaigns/{first.id}/links/posters", {}),
        (f"/admin/links/{s['link'].id}/revoke", {}),
        (f"/admin/links/{s['link'].id}/reissue", {}),
        (f"/admin/campaigns/{first.id}/visits", {"place": "村"}),
        (f"/admin/campaigns/{first.id}/questionnaire/template", {"template": "haochaping"}),
        ("/admin/users", {"username": "x", "password": "12345678"}),
        (f"/admin/users/{s['secretary'].id}", {"unit_ids": [u.id for u in first.units]}),
    ]


def test_secretary_gets_403_on_every_setup_page(client, setup, login, session):
    assert login("mine").status_code == 302
    for url in admin_urls(setup):
        reply = client.get(url)
        assert reply.status_code == 403, url
        assert "没有权限" in reply.get_data(as_text=True)
    token = csrf_from(client, "/admin/")
    for url, data in admin_posts(setup):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    # nothing was changed by any of those posts
    session.expire_all()
    first, link = setup["first"], setup["link"]
    assert first.title == "测试评议活动" and not link.is_revoked
    assert session.query(Campaign).count() == 2 and session.query(Unit).count() == 6
    assert session.query(Link).count() == 1 and session.query(User).count() == 2
    assert [u.code for u in setup["secretary"].units] == ["ZF01"]


def test_anonymous_visitors_are_sent_to_login(client, setup):
    for url in admin_urls(setup):
        reply = client.get(url)
        assert reply.status_code == 302 and "/admin/login" in reply.headers["Location"], url


def test_secretary_home_lists_only_their_units(client, setup, login):
    login("mine")
    text = client.get("/admin/").get_data(as_text=True)
    assert "市场监管局" in text and "ZF01" in text
    assert "人社局" not in text and "税务局" not in text and "另一活动" not in text
    assert "账号管理" not in text and "评议活动</a>" not in text
    # the links on their home page open (results, dashboard, follow-ups of their campaign)
    links = re.findall(r'href="(/admin/[^"]+)"', text)
    campaign_id = setup["first"].id
    assert f"/admin/campaigns/{campaign_id}/results" in links
    for link in links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link


def test_admin_creates_secretary_and_assigns_units(client, make_campaign, make_user, login,
                                                   session):
    campaign = make_campaign()
    make_user("admin")
    login("admin")
    unit_ids = [u.id for u in campaign.units if u.code in ("ZF01", "ZZ01")]
    token = csrf_from(client, "/admin/users")
    reply = client.post("/admin/users", data={"username": "li", "display_name": "李书记",
                                              "password": "abcd1234", "unit_ids": unit_ids,
                                              "csrf_token": token})
    assert reply.status_code == 302
    user = session.query(User).filter_by(username="li").one()
    assert user.role == Role.SECRETARY and user.password_hash != "abcd1234"
    assert sorted(u.code for u in user.units) == ["ZF01", "ZZ01"]
    for data, message in ((
            {"username": "li", "password": "abcd1234"}, "用户名“li”已被使用"),
            ({"username": "wang", "password": "short"}, "密码至少 8 位"),
            ({"username": "wang", "password": "abcd1234", "unit_ids": [99999]}, "“99999”不是有效的选项")):
        reply = client.post("/admin/users", data={**data, "csrf_token": token})
        assert reply.status_code == 422 and message in reply.get_data(as_text=True), message
    assert session.query(User).count() == 2

    # reassign units and reset the password
    zf02 = next(u for u in campaign.units if u.code == "ZF02")
    reply = client.post(f"/admin/users/{user.id}", data={
        "display_name": "李书记", "password": "newpass99", "unit_ids": [zf02.id],
        "csrf_token": csrf_from(client, f"/admin/users/{user.id}")})
    assert reply.status_code == 302
    session.expire_all()
    assert [u.code for u in user.units] == ["ZF02"]
    client.post("/admin/logout", data={"csrf_token": token})
    assert login("li", "abcd1234").status_code == 401
    assert login("li", "newpass99").status_code == 302
    text = client.get("/admin/").get_data(as_text=True)
    assert "人社局" in text and "市场监管局" not in text


def test_hostile_names_render_escaped_on_every_page(client, make_campaign, make_link, make_user,
                                                    login, session):
    hostile = f"{SCRIPT}{ATTR}"
    campaign = make_campaign(title=f"活动{hostile}", units={
        f"类别{hostile}": [("X1", f"单位{hostile}")]}, supervision_phone=hostile[:50])
    unit = campaign.units[0]
    visit = create_visit(session, campaign, f"村{hostile}", f"人{hostile}")
    session.commit()
    make_link(campaign, codes=["X1"], visit_place=None)
    from sync.links import issue_link
    from sync.models import Channel
    issue_link(session, campaign, [unit], Channel.VISIT, visit)
    campaign.questionnaire.items[0].label = f"内容{hostile}"[:100]
    campaign.questionnaire.title = f"问卷{hostile}"
    session.commit()
    admin = make_user("admin")
    admin.display_name = f"管理{hostile}"
    make_user("sec", Role.SECRETARY, units=[unit]).display_name = f"联络员{hostile}"
    session.commit()

    def check(url: str) -> None:
        reply = client.get(url)
        assert reply.status_code == 200, url
        text = reply.get_data(as_text=True)
        assert SCRIPT not in text and ATTR not in text, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, url
        assert "&#34; onmouseover=&#34;x" in text, url

    login("admin")
    for url in ("/admin/campaigns", f"/admin/campaigns/{campaign.id}",
                f"/admin/campaigns/{campaign.id}/units", f"/admin/units/{unit.id}/edit",
                f"/admin/campaigns/{campaign.id}/questionnaire",
                f"/admin/campaigns/{campaign.id}/links", "/admin/users",
                f"/admin/users/{admin.id}"):
        check(url)
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/campaigns")})
    login("sec", PASSWORD)
    check("/admin/")


def test_hostile_import_errors_render_escaped(admin_client, post_form, make_campaign):
    import io

    campaign = make_campaign()
    data = f"类别,单位代码,单位名称\r\n{SCRIPT},ZF01,\"{ATTR.replace(chr(34), chr(34) * 2)}\"\r\n"
    reply = post_form(f"/admin/campaigns/{campaign.id}/units",
                      f"/admin/campaigns/{campaign.id}/units/import",
                      {"sheet": (io.BytesIO(data.encode()), "x.csv")},
                      content_type="multipart/form-data")
    assert reply.status_code == 422
    text = reply.get_data(as_text=True)
    assert "单位代码“ZF01”在本活动中已存在" in text
    assert SCRIPT not in text
