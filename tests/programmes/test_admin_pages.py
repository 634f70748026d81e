"""The programme, deductions, pool and push pages: admin only, refused input, audited changes."""

from __future__ import annotations

import io
import json

import pytest
from markupsafe import escape
from sqlalchemy import select

from sync.audit import AuditEntry
from sync.models import Role
from sync.programmes.models import Deduction, Programme
from sync.push.models import Webhook

from .helpers import PROGRAMME


def actions(session) -> list[str]:  # type: ignore[no-untyped-def]
    session.rollback()
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.mark.parametrize("path", ["programme", "pool", "push", "report.pdf"])
def test_secretaries_are_refused(client, make_campaign, make_user, login, path):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    make_user("sec", Role.SECRETARY, units=campaign.units[:1])
    login("sec")
    assert client.get(f"/admin/campaigns/{campaign.id}/{path}").status_code == 403
    assert client.get(f"/api/v1/admin/campaigns/{campaign.id}/scores").status_code == 403


def test_programme_is_saved_from_the_page_and_audited(admin_client, session, make_campaign,
                                                      post_form):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    url = f"/admin/campaigns/{campaign.id}/programme"
    for text, message in (('{"methods": []}', "methods 必须是至少含一个测评方式的列表"),
                          ('{"methods": [', "不是有效的 JSON"),
                          ("[" * 100_000, "嵌套层次过深"),
                          ('{"methods": [{"key": "a", "name": "\\u0000", "weight": 1, '
                           '"channels": ["online"]}]}', "空字符")):
        bad = post_form(url, data={"programme": text})
        assert bad.status_code == 422 and message in bad.get_data(as_text=True), message
        # The text is kept for correction (HTML-escaped in the textarea).
        assert str(escape(text[:20])) in bad.get_data(as_text=True)
    assert session.get(Programme, campaign.id) is None
    reply = post_form(url, data={"programme": json.dumps(PROGRAMME, ensure_ascii=False)},
                      follow_redirects=True)
    assert "评议方案已保存" in reply.get_data(as_text=True)
    assert [m.key for m in session.get(Programme, campaign.id).methods] == [
        "third", "hall", "deputies", "net"]
    entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.actor_name, entry.before) == ("programme.update", "admin", None)
    assert entry.after["deduction_caps"] == {"纪委监委": None, "媒体": 5}


def test_deductions_added_and_withdrawn_on_the_page_are_audited(admin_client, session, seed004,
                                                                 post_form):  # type: ignore[no-untyped-def]
    page = f"/admin/campaigns/{seed004.id}/programme"
    before = session.query(Deduction).count()
    reply = post_form(page, f"/admin/campaigns/{seed004.id}/deductions", data={
        "unit": "A4", "source": "媒体", "points": "0.1", "reason": "不配合采访",
        "day": "2018-11-20", "evidence": "银川日报 11 月 20 日"}, follow_redirects=True)
    assert "已添加减分" in reply.get_data(as_text=True)
    added = session.query(Deduction).order_by(Deduction.id.desc()).first()
    assert (added.entered_by, str(added.points)) == ("admin", "0.1000")
    refused = post_form(page, f"/admin/campaigns/{seed004.id}/deductions", data={
        "unit": "A4", "source": "小道消息", "points": "3", "reason": "x"}, follow_redirects=True)
    assert "来源“小道消息”不在评议方案的减分来源" in refused.get_data(as_text=True)
    assert session.query(Deduction).count() == before + 1

    withdraw = f"/admin/campaigns/{seed004.id}/deductions/{added.id}/withdraw"
    assert "请填写撤销原因" in post_form(page, withdraw, data={"reason": " "},
                                   follow_redirects=True).get_data(as_text=True)
    post_form(page, withdraw, data={"reason": "单位已提供采访记录"})
    session.expire_all()
    assert added.withdrawn_reason == "单位已提供采访记录"
    audited = [a for a in actions(session) if a.startswith("deduction")]
    # 11 from the seed's sheet (via the CLI), then the page's add and withdrawal.
    assert audited == ["deduction.create"] * 12 + ["deduction.withdraw"]
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert last.before["withdrawn_at"] is None and last.after["withdrawn_reason"]


def test_pool_import_and_draw_from_the_page(admin_client, session, make_campaign, post_form):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    page = f"/admin/campaigns/{campaign.id}/pool"
    sheet = "姓名,组别,手机\n张伟,党代表,13800000001\n张伟,人大代表,13800000001\n李娜,政协委员,\n"
    reply = post_form(page, f"{page}/import", data={
        "file": (io.BytesIO(sheet.encode()), "pool.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "样本库已导入 2 人" in reply.get_data(as_text=True)
    reply = post_form(page, f"{page}/draw", data={"mode": "per_group", "size": "1", "seed": "s",
                                                  "channel": "survey"}, follow_redirects=True)
    html = reply.get_data(as_text=True)
    assert "已抽取 2 人" in html and "13800000001" not in html
    cards = admin_client.get(f"{page}/cards.pdf")
    assert cards.status_code == 200 and cards.data.startswith(b"%PDF")
    links = admin_client.get(f"{page}/links.csv").get_data(as_text=True)
    assert links.splitlines()[0].lstrip("\ufeff") == "姓名,组别,链接" and "张伟" in links
    assert actions(session) == ["pool.import", "pool.draw"]


def test_webhook_settings_keep_the_secret_out_of_the_log(admin_client, session, make_campaign,
                                                         post_form):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    page = f"/admin/campaigns/{campaign.id}/push"
    short = post_form(page, data={"url": "https://hcp.example.gov.cn/in", "secret": "short"},
                      follow_redirects=True)
    assert "签名密钥至少 16 个字符" in short.get_data(as_text=True)
    post_form(page, data={"url": "https://hcp.example.gov.cn/in", "secret": "x" * 20})
    assert session.get(Webhook, campaign.id).url == "https://hcp.example.gov.cn/in"
    entry = session.scalars(select(AuditEntry)).one()
    assert entry.action == "webhook.update" and "x" * 20 not in json.dumps(entry.after)
    assert entry.after["secret_changed"] is True
    # an empty secret keeps the stored one; a new one shows as changed, never as itself
    post_form(page, data={"url": "https://hcp.example.gov.cn/v2", "secret": ""})
    post_form(page, data={"url": "https://hcp.example.gov.cn/v2", "secret": "y" * 20})
    kept, changed = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()[1:]
    assert kept.after["secret_changed"] is False and kept.after["url"].endswith("/v2")
    assert changed.after["secret_changed"] is True
    assert "y" * 20 not in json.dumps(changed.after) + json.dumps(changed.before)
    assert "x" * 20 not in admin_client.get(page).get_data(as_text=True)
