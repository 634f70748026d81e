"""Every admin and secretary change leaves one audit row; the log page reads, filters, pages."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from sync.accounts import create_user
from sync.audit import AuditEntry, record
from sync.integrity.exclusions import exclude_response
from sync.models import Response as Rating
from sync.models import Role, User
from sync.posters import poster_links

from .conftest import PASSWORD, csrf_from


@pytest.fixture
def world(admin_client, post_form, make_campaign, make_link, make_item, session):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    link, token = make_link(campaign, ["ZF01"])
    reply = admin_client.post("/api/v1/sync", json={"device_id": "phone-1", "responses": [
        make_item(token, comment="窗口排队太久")]})
    assert reply.json["results"][0]["status"] == "stored"
    rating = session.scalar(select(Rating))
    unit = next(u for u in campaign.units if u.code == "ZF01")
    secretary = create_user(session, "zf01", PASSWORD, Role.SECRETARY, units=[unit])
    session.commit()
    return SimpleNamespace(campaign=campaign, link=link, token=token, rating=rating, unit=unit,
                           category=unit.category, secretary=secretary, client=admin_client,
                           post=post_form, make_item=make_item, session=session)


def _units_page(w):  # type: ignore[no-untyped-def]
    return f"/admin/campaigns/{w.campaign.id}/units"


def _links_page(w):  # type: ignore[no-untyped-def]
    return f"/admin/campaigns/{w.campaign.id}/links"


# Each action: do it through the admin pages; return (reply, target_type, check(entry)).

def campaign_create(w):  # type: ignore[no-untyped-def]
    reply = w.post("/admin/campaigns/new", data={
        "title": "2027年度评议", "year": "2027", "bottom_n": "2", "status": "draft",
        "template": "jiguan5"})

    def check(e):  # type: ignore[no-untyped-def]
        assert e.before is None and e.after["title"] == "2027年度评议"
        assert e.after["template"] == "jiguan5" and e.campaign_id == int(e.target_id)
    return reply, "campaign", check


def campaign_update(w):  # type: ignore[no-untyped-def]
    c = w.campaign
    reply = w.post(f"/admin/campaigns/{c.id}", data={
        "title": "改过的标题", "year": c.year, "opens_on": c.opens_on.isoformat(),
        "closes_on": c.closes_on.isoformat(), "bottom_n": "3", "status": "open",
        "min_seconds": "12"})

    def check(e):  # type: ignore[no-untyped-def]
        assert (e.before["title"], e.after["title"]) == ("测试评议活动", "改过的标题")
        assert (e.before["bottom_n"], e.after["bottom_n"]) == (2, 3)
        assert (e.before["min_seconds"], e.after["min_seconds"]) == (8, 12)
        assert e.target_id == str(c.id) and e.campaign_id == c.id
    return reply, "campaign", check


def category_create(w):  # type: ignore[no-untyped-def]
    reply = w.post(_units_page(w), f"/admin/campaigns/{w.campaign.id}/categories",
                   {"name": "企事业单位"})
    return reply, "category", lambda e: e.after == {"name": "企事业单位"}


def category_update(w):  # type: ignore[no-untyped-def]
    reply = w.post(_units_page(w),
                   f"/admin/campaigns/{w.campaign.id}/categories/{w.category.id}",
                   {"name": "政府部门"})

    def check(e):  # type: ignore[no-untyped-def]
        assert (e.before, e.after) == ({"name": "政府工作部门"}, {"name": "政府部门"})
        assert e.target_id == str(w.category.id)
    return reply, "category", check


def unit_create(w):  # type: ignore[no-untyped-def]
    reply = w.post(_units_page(w), f"/admin/campaigns/{w.campaign.id}/units",
                   {"category_id": w.category.id, "code": "ZF09", "name": "统计局"})
    return reply, "unit", lambda e: e.after["code"] == "ZF09" and e.after["name"] == "统计局"


def unit_update(w):  # type: ignore[no-untyped-def]
    reply = w.post(f"/admin/units/{w.unit.id}/edit", data={
        "category_id": w.category.id, "code": "ZF01", "name": "市场监督管理局"})

    def check(e):  # type: ignore[no-untyped-def]
        assert (e.before["name"], e.after["name"]) == ("市场监管局", "市场监督管理局")
    return reply, "unit", check


def unit_sheet_import(w):  # type: ignore[no-untyped-def]
    sheet = "类别,单位代码,单位名称\r\n政府工作部门,ZF07,统计局\r\n".encode("utf-8-sig")
    reply = w.post(_units_page(w), f"/admin/campaigns/{w.campaign.id}/units/import",
                   {"sheet": (io.BytesIO(sheet), "units.csv")},
                   content_type="multipart/form-data")
    return reply, "campaign", lambda e: e.after == {"filename": "units.csv", "units": ["ZF07"],
                                                    "categories": {"ZF07": "政府工作部门"}}


def questionnaire_update(w):  # type: ignore[no-untyped-def]
    q = w.campaign.questionnaire
    data = {"title": "新的问卷标题", "comment_label": q.comment_label}
    for n, item in enumerate(q.items):
        data.update({f"item-{n}-key": item.key, f"item-{n}-label": item.label,
                     f"item-{n}-required": "1"})
    url = f"/admin/campaigns/{w.campaign.id}/questionnaire"
    reply = w.post(url, data=data)

    def check(e):  # type: ignore[no-untyped-def]
        assert e.before["title"] != "新的问卷标题" and e.after["title"] == "新的问卷标题"
        # ratings exist, so the edit made a new version
        assert e.after["version"] == e.before["version"] + 1
    return reply, "questionnaire", check


def questionnaire_template(w):  # type: ignore[no-untyped-def]
    reply = w.post(f"/admin/campaigns/{w.campaign.id}/questionnaire",
                   f"/admin/campaigns/{w.campaign.id}/questionnaire/template",
                   {"template": "shuangwan"})
    return reply, "questionnaire", lambda e: e.after["template"] == "shuangwan"


def link_create(w):  # type: ignore[no-untyped-def]
    reply = w.post(_links_page(w), _links_page(w),
                   {"unit_ids": [w.unit.id], "channel": "survey", "visit_id": 0})
    return reply, "link", lambda e: e.after["units"] == ["ZF01"] and e.after["channel"] == "survey"


def link_create_posters(w):  # type: ignore[no-untyped-def]
    reply = w.post(_links_page(w), f"{_links_page(w)}/posters")
    return reply, "campaign", lambda e: len(e.after["links"]) == 2  # ZF02, ZZ01 had none


def link_revoke(w):  # type: ignore[no-untyped-def]
    reply = w.post(_links_page(w), f"/admin/links/{w.link.id}/revoke")

    def check(e):  # type: ignore[no-untyped-def]
        assert e.before["revoked_at"] is None and e.after["revoked_at"]
        assert e.target_id == str(w.link.id)
    return reply, "link", check


def link_reissue(w):  # type: ignore[no-untyped-def]
    reply = w.post(_links_page(w), f"/admin/links/{w.link.id}/reissue")

    def check(e):  # type: ignore[no-untyped-def]
        assert e.after["replaced_by_id"] == e.after["new_link_id"] != w.link.id
        assert e.after["new_link"]["units"] == ["ZF01"]
    return reply, "link", check


def visit_create(w):  # type: ignore[no-untyped-def]
    reply = w.post(_links_page(w), f"/admin/campaigns/{w.campaign.id}/visits",
                   {"place": "红星村", "staff_name": "张三", "visit_date": "2026-05-01"})
    return reply, "visit", lambda e: e.after == {"place": "红星村", "staff_name": "张三",
                                                  "visit_date": "2026-05-01"}


def account_create(w):  # type: ignore[no-untyped-def]
    reply = w.post("/admin/users", data={"username": "zf02", "password": "long-enough-1",
                                         "display_name": "李四", "unit_ids": [w.unit.id]})

    def check(e):  # type: ignore[no-untyped-def]
        assert e.after["username"] == "zf02" and e.after["unit_ids"] == [w.unit.id]
        assert "long-enough-1" not in json.dumps(e.after) and "password_hash" not in e.after
    return reply, "user", check


def account_update(w):  # type: ignore[no-untyped-def]
    reply = w.post(f"/admin/users/{w.secretary.id}", data={
        "display_name": "王五", "password": "brand-new-pass", "unit_ids": [w.unit.id]})

    def check(e):  # type: ignore[no-untyped-def]
        assert (e.before["display_name"], e.after["display_name"]) == (None, "王五")
        assert e.after["password_changed"] is True
        assert "brand-new-pass" not in json.dumps(e.after)
    return reply, "user", check


def follow_up_update(w):  # type: ignore[no-untyped-def]
    reply = w.post(f"/admin/followups/{w.rating.id}", data={
        "status": "in_progress", "reply": "已联系窗口负责人", "owner_unit_id": w.unit.id})

    def check(e):  # type: ignore[no-untyped-def]
        # the follow-up was opened when the commented rating was stored
        assert e.before["status"] == "pending" and e.after["status"] == "in_progress"
        assert e.target_id == w.rating.uuid and e.campaign_id == w.campaign.id
    return reply, "response", check


def response_exclude(w):  # type: ignore[no-untyped-def]
    reply = w.post("/admin/audit", f"/admin/responses/{w.rating.id}/exclude",
                   {"reason": "同一设备短时间内多次提交"})

    def check(e):  # type: ignore[no-untyped-def]
        assert e.before == {"excluded": False, "reason": None}
        assert e.after == {"excluded": True, "reason": "同一设备短时间内多次提交"}
    return reply, "response", check


def response_include(w):  # type: ignore[no-untyped-def]
    exclude_response(w.session, w.rating, reason="误判前", actor=None)
    w.session.commit()
    w.rows_before = 1  # the exclusion above
    reply = w.post("/admin/audit", f"/admin/responses/{w.rating.id}/include",
                   {"reason": "核实为真实评议"})
    return reply, "response", lambda e: e.after["include_reason"] == "核实为真实评议"


def queue_import(w):  # type: ignore[no-untyped-def]
    body = {"format": "pingyi-queue", "version": 1, "device_id": "phone-7",
            "responses": [w.make_item(w.token)]}
    reply = w.post("/admin/import-queue", data={
        "queue_file": (io.BytesIO(json.dumps(body).encode()), "q.json")},
        content_type="multipart/form-data")
    return reply, "queue_file", lambda e: e.after == {"filename": "q.json", "stored": 1}


def export_download(w):  # type: ignore[no-untyped-def]
    reply = w.client.get(f"/admin/campaigns/{w.campaign.id}/export.csv?table=rankings")
    reply.get_data()  # streamed

    def check(e):  # type: ignore[no-untyped-def]
        assert e.after == {"table": "rankings", "format": "csv", "filter": {}, "units": "all"}
    return reply, "campaign", check


def posters_download(w):  # type: ignore[no-untyped-def]
    poster_links(w.session, w.campaign)  # issued beforehand: only the download is recorded
    w.session.commit()
    reply = w.client.get(f"/admin/campaigns/{w.campaign.id}/posters/print-set.zip")
    return reply, "campaign", lambda e: e.after == {"file": "print-set.zip"}


ACTIONS = {
    "campaign.create": campaign_create, "campaign.update": campaign_update,
    "category.create": category_create, "category.update": category_update,
    "unit.create": unit_create, "unit.update": unit_update,
    "unit_sheet.import": unit_sheet_import,
    "questionnaire.update": questionnaire_update,
    "questionnaire.template": questionnaire_template,
    "link.create": link_create, "link.create_posters": link_create_posters,
    "link.revoke": link_revoke, "link.reissue": link_reissue, "visit.create": visit_create,
    "account.create": account_create, "account.update": account_update,
    "follow_up.update": follow_up_update,
    "response.exclude": response_exclude, "response.include": response_include,
    "queue.import": queue_import, "export.download": export_download,
    "posters.download": posters_download,
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_admin_action_leaves_one_audit_row(world, action):
    session = world.session
    world.rows_before = session.scalar(select(func.count()).select_from(AuditEntry))
    reply, target_type, check = ACTIONS[action](world)
    already = world.rows_before
    assert reply.status_code in (200, 302), reply.get_data(as_text=True)[:500]
    session.expire_all()
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert len(rows) == already + 1, [r.action for r in rows]
    entry = rows[-1]
    assert entry.action == action and entry.target_type == target_type
    assert entry.actor_name == "admin" and entry.actor_id is not None
    assert entry.ip == "127.0.0.1"
    assert entry.at.tzinfo is not None
    assert abs((datetime.now(timezone.utc) - entry.at).total_seconds()) < 60
    assert check(entry) is not False


def test_every_action_the_log_page_knows_is_tested():
    from sync.audit import ACTION_LABELS

    # export.cli: test_cli_export_is_audited; the follow-up feature's actions are asserted where
    # the feature is tested (test_followups, test_followup_contact, test_appeals,
    # test_paper_entry, test_board); deleting/archiving units and categories: test_unit_archive;
    # programmes, pool and push: tests/programmes (test_admin_pages, test_push) and
    # test_audit_coverage
    assert set(ACTION_LABELS) - set(ACTIONS) == {
        "export.cli", "follow_up.extend", "follow_up.reopen", "campaign.followup_settings",
        "contact.export", "appeal.file", "appeal.decide", "paper.key", "paper.stage",
        "paper.merge_agreed", "unit.delete", "unit.archive", "unit.restore", "category.delete",
        "category.archive", "category.restore", "programme.update", "method_scores.import",
        "deduction.create", "deduction.withdraw", "pool.import", "pool.draw", "webhook.update",
        "push.resend"}


def test_a_refused_change_leaves_no_row(world):
    reply = world.post(_units_page(world), f"/admin/campaigns/{world.campaign.id}/categories",
                       {"name": "政府工作部门"})  # exists already
    assert reply.status_code == 422
    assert world.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_secretary_change_is_audited_under_their_name(client, world, login, session):
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    assert login("zf01").status_code == 302
    reply = client.post(f"/admin/followups/{world.rating.id}", data={
        "status": "done", "reply": "已整改", "csrf_token": csrf_from(client, "/admin/followups")})
    assert reply.status_code == 302
    entry = session.scalar(select(AuditEntry))
    assert (entry.action, entry.actor_name) == ("follow_up.update", "zf01")
    assert client.get("/admin/audit").status_code == 403


def test_cli_export_is_audited(runner, world, tmp_path, session):
    result = runner.invoke(args=["export", "--campaign", str(world.campaign.id), "--format",
                                 "csv", "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    entry = session.scalar(select(AuditEntry))
    assert (entry.action, entry.actor_name, entry.campaign_id) == \
        ("export.cli", None, world.campaign.id)


def test_no_route_changes_an_audit_row(app, admin_client, session, make_user):
    writable = [rule.rule for rule in app.url_map.iter_rules()
                if "audit" in rule.rule and rule.methods - {"GET", "HEAD", "OPTIONS"}]
    assert writable == []
    record(session, actor=None, action="campaign.update", target_type="campaign",
           target_id=1, after={"title": "原样"})
    session.commit()
    token = csrf_from(admin_client, "/admin/audit")
    for method in ("post", "put", "patch", "delete"):
        reply = getattr(admin_client, method)("/admin/audit", data={"csrf_token": token,
                                                                    "action": "x"})
        assert reply.status_code == 405
    session.expire_all()
    assert session.scalar(select(AuditEntry)).after == {"title": "原样"}


# --- the log page -----------------------------------------------------------------------------

@pytest.fixture
def logged(session, make_user):  # type: ignore[no-untyped-def]
    """Entries by two people in two campaigns on known days (UTC 17:30 = Beijing 01:30 next day)."""
    boss = session.scalar(select(User).where(User.username == "admin"))
    other = make_user("auditor2", Role.ADMIN)
    rows = [
        (boss, "campaign.update", 1, datetime(2026, 3, 1, 17, 30, tzinfo=timezone.utc)),
        (other, "link.revoke", 1, datetime(2026, 3, 5, 2, 0, tzinfo=timezone.utc)),
        (boss, "link.revoke", 2, datetime(2026, 3, 9, 2, 0, tzinfo=timezone.utc)),
    ]
    for actor, action, campaign_id, at in rows:
        entry = record(session, actor=actor, action=action, target_type="campaign",
                       target_id=campaign_id, campaign_id=campaign_id, before={"title": "旧名"},
                       after={"title": f"新名{campaign_id}"})
        entry.at = at
    session.commit()
    return SimpleNamespace(boss=boss, other=other)


def _shown(reply) -> list[str]:  # type: ignore[no-untyped-def]
    assert reply.status_code == 200
    return re.findall(r'class="audit-row" data-action="([^"]+)"', reply.get_data(as_text=True))


def test_log_page_lists_newest_first_in_beijing_time(admin_client, logged):
    reply = admin_client.get("/admin/audit")
    assert _shown(reply) == ["link.revoke", "link.revoke", "campaign.update"]
    text = reply.get_data(as_text=True)
    assert "2026-03-02 01:30:00" in text  # 17:30 UTC on 1 March
    assert "修改评议活动" in text and "旧名" in text and "新名1" in text


@pytest.mark.parametrize(("query", "expected"), [
    ("actor={other}", ["link.revoke"]),
    ("action=campaign.update", ["campaign.update"]),
    ("campaign=2", ["link.revoke"]),
    ("campaign=1&action=link.revoke", ["link.revoke"]),
    ("from=2026-03-02&to=2026-03-02", ["campaign.update"]),  # Beijing day of the 17:30 UTC edit
    ("from=2026-03-05", ["link.revoke", "link.revoke"]),
    ("to=2026-03-01", []),
])
def test_log_page_filters(admin_client, logged, query, expected):
    assert _shown(admin_client.get("/admin/audit?" + query.format(other=logged.other.id))) \
        == expected


@pytest.mark.parametrize(("query", "message"), [
    ("action=drop.table", "未知的操作类型"),
    ("from=2026-13-01", "开始日期"),
    ("from=2026-03-09&to=2026-03-01", "开始日期不能晚于结束日期"),
    ("actor=abc", "操作人"),
    ("campaign=99999999999", "评议活动"),
])
def test_log_page_refuses_bad_filters(admin_client, logged, query, message):
    reply = admin_client.get("/admin/audit?" + query)
    assert reply.status_code == 400 and message in reply.get_data(as_text=True)


def test_log_page_pages_by_key(admin_client, session):
    for n in range(55):
        record(session, actor=None, action="export.cli", target_type="campaign", target_id=n)
    session.commit()
    first = admin_client.get("/admin/audit?action=export.cli")
    assert len(_shown(first)) == 50
    text = first.get_data(as_text=True)

    (link,) = re.findall(r'href="(/admin/audit\?[^"]*before=[^"]*)"', text)
    second = admin_client.get(link.replace("&amp;", "&"))
    assert len(_shown(second)) == 5
    assert "更早的记录" not in second.get_data(as_text=True)


def test_log_page_escapes_what_people_typed(admin_client, session):
    script = "<script>alert(1)</script>"
    record(session, actor=None, action="campaign.update", target_type="campaign",
           target_id=script, before={"title": "旧"}, after={"title": script})
    session.commit()
    html = admin_client.get("/admin/audit").get_data(as_text=True)
    assert script not in html
    assert "&lt;script&gt;" in html or "\\u003cscript\\u003e" in html
