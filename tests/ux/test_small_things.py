"""Small things a newcomer tripped over (issue 12, items 5 and 10)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta, timezone

from sync.models import Role

from .conftest import sign_in

TABS = ["设置", "单位", "问卷", "链接", "海报", "结果", "看板", "整改", "方案与得分", "样本库", "数据推送"]


def tabs(html: str) -> list[str]:
    nav = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "no campaign tabs"
    return re.findall(r">([^<>\s]+)</(?:a|strong)>", nav.group(1))


def test_every_campaign_page_has_the_same_tabs(client, make_campaign, make_user):
    campaign = make_campaign()
    sign_in(client, make_user("boss"))
    base = f"/admin/campaigns/{campaign.id}"
    unit = campaign.units[0]
    for url in [base, f"{base}/units", f"{base}/questionnaire", f"{base}/links",
                f"{base}/posters/", f"{base}/results", f"{base}/dashboard",
                f"{base}/units/{unit.id}", f"{base}/programme", f"{base}/pool", f"{base}/push"]:
        reply = client.get(url)
        assert reply.status_code == 200, url
        html = reply.get_data(as_text=True)
        assert tabs(html) == TABS, url
        assert re.search(r"<title>[^<]+</title>", html), url  # a plain title, nothing else


def test_a_secretary_sees_only_the_tabs_they_may_open(client, make_campaign, make_user):
    campaign = make_campaign()
    sign_in(client, make_user("zf01", Role.SECRETARY, units=[campaign.units[0]]))
    html = client.get(f"/admin/campaigns/{campaign.id}/results").get_data(as_text=True)
    assert tabs(html) == ["结果", "看板", "整改"]


def test_follow_up_times_are_beijing_time(client, make_campaign, make_link, make_user):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    day = datetime.now(timezone.utc).date() - timedelta(days=2)
    late = datetime.combine(day, time(23, 30), timezone.utc)  # 07:30 the next day in Beijing
    reply = client.post("/api/v1/sync", json={"device_id": "d", "responses": [{
        "id": str(uuid.uuid4()), "token": token, "created_at": late.isoformat(),
        "identity": "enterprise", "comment": "夜里提交的意见",
        "answers": {k: "satisfied" for k in ("efficiency", "attitude", "competence", "conduct",
                                             "integrity")}}]})
    assert reply.json["results"][0]["status"] == "stored"
    sign_in(client, make_user("boss"))
    html = client.get(f"/admin/followups?campaign={campaign.id}").get_data(as_text=True)
    beijing = f"{day + timedelta(days=1)} 07:30"
    assert beijing in html and f"{day} 23:30" not in html


def test_new_campaign_form_proposes_year_and_dates(client, make_user):
    from sync.clock import local_today

    sign_in(client, make_user("boss"))
    html = client.get("/admin/campaigns/new").get_data(as_text=True)
    today = local_today()
    assert re.search(rf'name="year"[^>]*value="{today.year}"', html)
    assert re.search(rf'name="opens_on"[^>]*value="{today.isoformat()}"', html)
    assert re.search(r'name="closes_on"[^>]*value="\d{4}-\d{2}-\d{2}"', html)


def test_secretary_home_shows_each_units_headline_numbers(client, make_campaign, make_link,
                                                          make_user):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    for level in ("satisfied", "basic"):
        reply = client.post("/api/v1/sync", json={"device_id": str(uuid.uuid4()), "responses": [{
            "id": str(uuid.uuid4()), "token": token, "identity": "enterprise",
            "created_at": datetime.now(timezone.utc).isoformat(),
            "answers": {k: level for k in ("efficiency", "attitude", "competence", "conduct",
                                           "integrity")}}]})
        assert reply.json["results"][0]["status"] == "stored"
    zf01 = next(u for u in campaign.units if u.code == "ZF01")
    sign_in(client, make_user("zf01", Role.SECRETARY, units=[zf01]))
    html = client.get("/admin/").get_data(as_text=True)
    card = html[html.index('data-code="ZF01"'):]
    assert "<b>80</b>综合得分" in card and "<b>100.0%</b><span>满意率</span>" in card
    assert "<b>2</b>评议份数" in card and "第 1 名 / 共 1" in card


def test_unit_sheet_sample_imports_and_refusals_show_first(client, make_campaign, make_user):
    import io

    campaign = make_campaign(units={"其他": [("QT01", "档案馆")]})
    sign_in(client, make_user("boss"))
    client.application.config["WTF_CSRF_ENABLED"] = False
    page = client.get(f"/admin/campaigns/{campaign.id}/units").get_data(as_text=True)
    assert "/admin/units-sample.csv" in page
    sample = client.get("/admin/units-sample.csv").data
    ok = client.post(f"/admin/campaigns/{campaign.id}/units/import", follow_redirects=True,
                     data={"sheet": (io.BytesIO(sample), "units-sample.csv")})
    assert "已导入 4 个评议对象" in ok.get_data(as_text=True)
    bad = client.post(f"/admin/campaigns/{campaign.id}/units/import",
                      data={"sheet": (io.BytesIO("类别,单位代码\n".encode()), "bad.csv")})
    html = bad.get_data(as_text=True)
    assert 'id="import-errors"' in html
    assert html.index('id="import-errors"') < html.index("<h2>")  # above everything else
