"""Follow-ups (整改台账): opened automatically when a rating is stored, handled to their end."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from collector.extensions import db
from sync.audit import AuditEntry
from sync.clock import local_today
from sync.exports.jobs import run_next
from sync.followups.deadlines import add_working_days
from sync.followups.ledger import (
    FollowUpError,
    LedgerFilter,
    extend,
    list_follow_ups,
    reopen,
    unit_counts,
    update_follow_up,
)
from sync.models import CallbackResult, FollowUp, FollowUpStatus, Response, Role, User

from .conftest import csrf_from

SCRIPT = "<script>alert(1)</script>"
ATTR = '" onmouseover="x'


@pytest.fixture
def rated(client, make_campaign, make_link, make_item, make_user, session):  # type: ignore[no-untyped-def]
    """Comments on ZF01 (two) and ZF02 (one), a low rating without comment on ZF02, a content
    rating without comment on ZF01; secretary 'zf01' holds ZF01."""
    campaign = make_campaign()
    _, t1 = make_link(campaign, codes=["ZF01"])
    _, t2 = make_link(campaign, codes=["ZF02"])
    low = make_item(t2, comment="", level="satisfied")
    low["answers"]["attitude"] = "unsatisfied"
    items = [make_item(t1, comment="窗口排队太久"), make_item(t1, comment=f"{SCRIPT}{ATTR}"),
             make_item(t1, comment=""), make_item(t2, comment="人社局电话打不通"), low]
    reply = client.post("/api/v1/sync", json={"device_id": "d", "responses": items})
    assert [r["status"] for r in reply.json["results"]] == ["stored"] * 5
    zf01 = next(u for u in campaign.units if u.code == "ZF01")
    make_user("admin")
    make_user("zf01", Role.SECRETARY, units=[zf01])
    by_comment = {r.comment: r for r in session.query(Response).all() if r.comment}
    by_comment["low"] = session.scalar(select(Response).where(Response.uuid == low["id"]))
    return {"campaign": campaign, "responses": by_comment, "items": items}


def test_storing_opens_follow_ups_for_comments_and_low_ratings_only(rated, session, client):
    follow_ups = session.scalars(select(FollowUp)).all()
    opened = {f.response_id for f in follow_ups}
    responses = rated["responses"]
    assert opened == {responses["窗口排队太久"].id, responses[SCRIPT + ATTR].id,
                      responses["人社局电话打不通"].id, responses["low"].id}
    today = local_today()
    for f in follow_ups:
        assert f.status == FollowUpStatus.PENDING and f.opened_on == today
        assert f.due_on == add_working_days(today, 5)  # seed 004's five working days
        assert f.campaign_id == rated["campaign"].id
    # a resend (duplicate) or a conflicting copy opens nothing more
    resend = dict(rated["items"][0])
    changed = dict(rated["items"][3], comment="改过的内容")
    reply = client.post("/api/v1/sync", json={"device_id": "d", "responses": [resend, changed]})
    assert [r["status"] for r in reply.json["results"]] == ["duplicate", "conflict"]
    assert session.scalar(select(FollowUp.id).order_by(FollowUp.id.desc()).limit(1)) == \
        max(f.id for f in follow_ups)
    assert len(session.scalars(select(FollowUp)).all()) == 4


def test_campaign_chooses_levels_and_days(client, make_campaign, make_link, make_item, session):
    campaign = make_campaign()
    campaign.followup_levels = ["basic", "unsatisfied"]
    campaign.followup_days = 10
    session.commit()
    _, token = make_link(campaign)
    basic = make_item(token, level="basic")
    content = make_item(token, level="satisfied")
    reply = client.post("/api/v1/sync", json={"responses": [basic, content]})
    assert [r["status"] for r in reply.json["results"]] == ["stored", "stored"]
    (only,) = session.scalars(select(FollowUp)).all()
    assert only.response.uuid == basic["id"]
    assert only.due_on == add_working_days(local_today(), 10)


def test_secretary_sees_and_handles_only_their_follow_ups(client, rated, login, session):
    login("zf01")
    campaign = rated["campaign"]
    text = client.get("/admin/followups").get_data(as_text=True)
    assert "窗口排队太久" in text and "人社局电话打不通" not in text
    assert "待处理" in text and "共 2 条" in text
    assert SCRIPT not in text and ATTR not in text  # escaped, never raw
    assert "&lt;script&gt;" in text and "&#34; onmouseover=&#34;x" in text

    hostile = client.get(f"/admin/followups/{rated['responses'][SCRIPT + ATTR].id}")
    assert hostile.status_code == 200 and SCRIPT not in hostile.get_data(as_text=True)

    mine = rated["responses"]["窗口排队太久"]
    theirs = rated["responses"]["人社局电话打不通"]
    assert client.get(f"/admin/followups/{theirs.id}").status_code == 404
    token = csrf_from(client, f"/admin/followups/{mine.id}")
    reply = client.post(f"/admin/followups/{theirs.id}", data={
        "status": "done", "reply": "x", "csrf_token": token})
    assert reply.status_code == 404
    assert session.scalar(select(FollowUp).where(FollowUp.response_id == theirs.id)).status \
        == FollowUpStatus.PENDING
    assert client.get("/admin/followups/99999").status_code == 404
    blank = next(r for r in session.query(Response).all()
                 if not r.comment and r.id != rated["responses"]["low"].id)
    assert client.get(f"/admin/followups/{blank.id}").status_code == 404

    # a secretary cannot hand a follow-up to another unit: the field is not taken
    other_unit = next(u for u in campaign.units if u.code == "ZZ01")
    reply = client.post(f"/admin/followups/{mine.id}", data={
        "status": "in_progress", "reply": "已约谈窗口负责人", "measures": "增设叫号机",
        "owner_unit_id": other_unit.id, "csrf_token": token})
    assert reply.status_code == 302, reply.get_data(as_text=True)
    follow_up = session.scalar(select(FollowUp).where(FollowUp.response_id == mine.id))
    assert follow_up.status == FollowUpStatus.IN_PROGRESS
    assert follow_up.owner_unit_id == mine.unit_id and follow_up.measures == "增设叫号机"
    assert follow_up.replied_on == local_today() and follow_up.closed_on is None

    # closing needs a reply; closing stamps the day
    reply = client.post(f"/admin/followups/{mine.id}", data={
        "status": "done", "reply": "", "csrf_token": token})
    assert reply.status_code == 422 and "请填写办理情况" in reply.get_data(as_text=True)
    reply = client.post(f"/admin/followups/{mine.id}", data={
        "status": "done", "reply": "已增设窗口", "callback_result": "satisfied",
        "csrf_token": token})
    assert reply.status_code == 302
    session.expire_all()
    assert follow_up.status == FollowUpStatus.DONE and follow_up.closed_on == local_today()
    assert follow_up.callback_result == CallbackResult.SATISFIED

    done = client.get(f"/admin/followups?campaign={campaign.id}&status=done").get_data(
        as_text=True)
    assert "窗口排队太久" in done and "已增设窗口" in done and "共 1 条" in done
    assert client.get("/admin/followups?status=bogus").status_code == 400
    assert client.get("/admin/followups?sort=bogus").status_code == 400

    # every step is in the audit log, with before and after
    steps = session.scalars(select(AuditEntry).where(AuditEntry.action == "follow_up.update")
                            .order_by(AuditEntry.id)).all()
    assert [s.after["status"] for s in steps] == ["in_progress", "done"]
    assert steps[1].before["status"] == "in_progress" and steps[1].actor_name == "zf01"


def test_secretary_cannot_open_another_campaign(client, rated, make_campaign, login):
    other = make_campaign(title="另一活动")
    login("zf01")
    assert client.get(f"/admin/followups?campaign={other.id}").status_code == 404
    assert client.get("/admin/followups?campaign=99999").status_code == 404
    assert client.get(f"/admin/followups/export.csv?campaign={other.id}").status_code == 404


def test_admin_hands_a_follow_up_to_another_unit(client, rated, login, session, make_user):
    campaign = rated["campaign"]
    theirs = rated["responses"]["人社局电话打不通"]
    zz01 = next(u for u in campaign.units if u.code == "ZZ01")
    make_user("zz01", Role.SECRETARY, units=[zz01])
    login("admin")
    text = client.get("/admin/followups").get_data(as_text=True)
    assert "共 4 条" in text and "人社局电话打不通" in text and "低评价，未留言" in text
    reply = client.post(f"/admin/followups/{theirs.id}", data={
        "status": "pending", "reply": "", "owner_unit_id": zz01.id,
        "csrf_token": csrf_from(client, f"/admin/followups/{theirs.id}")})
    assert reply.status_code == 302
    moved = session.scalar(select(FollowUp).where(FollowUp.response_id == theirs.id))
    assert moved.owner_unit_id == zz01.id
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("zz01")
    assert "人社局电话打不通" in client.get("/admin/followups").get_data(as_text=True)
    assert client.get(f"/admin/followups/{theirs.id}").status_code == 200


def test_followup_form_refuses_bad_input(client, rated, login, session):
    login("admin")
    mine = rated["responses"]["窗口排队太久"]
    token = csrf_from(client, f"/admin/followups/{mine.id}")
    reply = client.post(f"/admin/followups/{mine.id}", data={
        "status": "finished", "callback_result": "happy", "owner_unit_id": mine.unit_id,
        "csrf_token": token})
    assert reply.status_code == 422
    assert "不是有效的" in reply.get_data(as_text=True)
    reply = client.post(f"/admin/followups/{mine.id}", data={"status": "done"})
    assert reply.status_code == 400
    assert {f.status for f in session.scalars(select(FollowUp))} == {FollowUpStatus.PENDING}


def test_unsatisfied_callback_reopens(rated, session, client, login):
    admin = session.scalar(select(User).where(User.username == "admin"))
    follow_up = session.scalar(select(FollowUp).where(
        FollowUp.response_id == rated["responses"]["窗口排队太久"].id))
    with pytest.raises(FollowUpError):
        reopen(follow_up, admin)  # not closed yet
    update_follow_up(follow_up, FollowUpStatus.EXPLAINED, "不属于本单位职责，已向群众说明", admin,
                     callback_result=CallbackResult.SATISFIED, today=date(2026, 5, 1))
    session.commit()
    assert follow_up.closed_on == date(2026, 5, 1)
    with pytest.raises(FollowUpError):
        reopen(follow_up, admin)  # the rater was satisfied
    with pytest.raises(FollowUpError):  # a closed one only moves back through reopen
        update_follow_up(follow_up, FollowUpStatus.IN_PROGRESS, "x", admin)
    update_follow_up(follow_up, FollowUpStatus.EXPLAINED, "不属于本单位职责，已向群众说明", admin,
                     callback_result=CallbackResult.UNSATISFIED)
    session.commit()
    login("zf01")
    reply = client.post(f"/admin/followups/{follow_up.response_id}/reopen",
                        data={"csrf_token": csrf_from(client, "/admin/followups")})
    assert reply.status_code == 302
    session.expire_all()
    assert follow_up.status == FollowUpStatus.IN_PROGRESS and follow_up.closed_on is None
    assert follow_up.reopened_count == 1 and follow_up.callback_result is None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "follow_up.reopen"))
    assert entry.before["status"] == "explained" and entry.after["reopened_count"] == 1


def test_extension_is_capped_at_a_month_and_records_who_and_why(rated, session, client, login):
    follow_up = session.scalar(select(FollowUp).where(
        FollowUp.response_id == rated["responses"]["窗口排队太久"].id))
    admin = session.scalar(select(User).where(User.username == "admin"))
    opened = follow_up.opened_on
    with pytest.raises(FollowUpError, match="理由"):
        extend(follow_up, follow_up.due_on + timedelta(days=3), " ", admin)
    with pytest.raises(FollowUpError, match="一个月"):
        extend(follow_up, opened + timedelta(days=40), "需协调市住建局", admin)
    with pytest.raises(FollowUpError, match="晚于"):
        extend(follow_up, follow_up.due_on, "需协调市住建局", admin)

    login("zf01")  # a secretary cannot grant an extension
    page = f"/admin/followups/{follow_up.response_id}"
    reply = client.post(f"{page}/extend", data={
        "due_on": (follow_up.due_on + timedelta(days=5)).isoformat(), "reason": "x",
        "csrf_token": csrf_from(client, page)})
    assert reply.status_code == 403
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("admin")
    new_due = follow_up.due_on + timedelta(days=7)
    reply = client.post(f"{page}/extend", data={
        "due_on": new_due.isoformat(), "reason": "需协调市住建局",
        "csrf_token": csrf_from(client, page)})
    assert reply.status_code == 302
    session.expire_all()
    assert follow_up.due_on == new_due and follow_up.extension_reason == "需协调市住建局"
    assert follow_up.extended_by_id == admin.id and follow_up.extended_at is not None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "follow_up.extend"))
    assert entry.after["due_on"] == new_due.isoformat() and entry.actor_name == "admin"


def test_overdue_marked_and_counted_per_unit(rated, session, client, login):
    campaign = rated["campaign"]
    first = rated["responses"]["窗口排队太久"].id  # a ZF01 follow-up, handled first
    follow_ups = sorted(session.scalars(select(FollowUp)).all(),
                        key=lambda f: (f.response_id != first, f.id))
    due = follow_ups[0].due_on
    after = due + timedelta(days=1)
    _, rows = list_follow_ups(session, campaign.id, today=due)
    assert not any(r.overdue for r in rows)  # due today is not late yet
    total, rows = list_follow_ups(session, campaign.id, today=after,
                                  ledger_filter=LedgerFilter(overdue_only=True))
    assert total == 4 and all(r.overdue for r in rows)
    admin = session.scalar(select(User).where(User.username == "admin"))
    update_follow_up(follow_ups[0], FollowUpStatus.DONE, "已办", admin, today=after)
    session.commit()
    counts = {c.code: c for c in unit_counts(session, campaign.id, today=after)}
    assert (counts["ZF01"].total, counts["ZF01"].open, counts["ZF01"].overdue,
            counts["ZF01"].closed) == (2, 1, 1, 1)
    assert (counts["ZF02"].total, counts["ZF02"].overdue) == (2, 2)
    _, rows = list_follow_ups(session, campaign.id, today=after)
    closed = next(r for r in rows if r.follow_up_id == follow_ups[0].id)
    assert closed.late and not closed.overdue  # closed after its deadline: 逾期办结

    # the page marks overdue once the deadline passed (moved into the past here)
    for f in follow_ups[1:]:
        f.due_on = local_today() - timedelta(days=1)
    session.commit()
    login("admin")
    text = client.get(f"/admin/followups?campaign={campaign.id}&overdue=1").get_data(
        as_text=True)
    assert "共 3 条" in text and text.count("<strong class=\"err\">逾期</strong>") == 3


def test_ledger_export_neutralises_formulas_and_filters(rated, session, client, login):
    campaign = rated["campaign"]
    follow_up = session.scalar(select(FollowUp).where(
        FollowUp.response_id == rated["responses"]["窗口排队太久"].id))
    follow_up.reply = "=HYPERLINK(\"http://evil\")"
    follow_up.status = FollowUpStatus.IN_PROGRESS
    session.commit()
    login("zf01")
    reply = client.get(f"/admin/followups/export.csv?campaign={campaign.id}")
    assert reply.status_code == 200
    rows = list(csv.reader(io.StringIO(reply.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["编号", "评议时间(北京时间)", "单位代码"] and "联系电话" not in rows[0]
    assert len(rows) == 3  # the secretary's two follow-ups only
    assert "'=HYPERLINK(\"http://evil\")" in [cell for row in rows for cell in row]
    # Excel is a background job, started by a POST, built by the runner, then downloaded
    assert client.get(f"/admin/followups/export.xlsx?campaign={campaign.id}").status_code == 405
    ledger = f"/admin/followups?campaign={campaign.id}"
    reply = client.post(f"/admin/followups/export.xlsx?campaign={campaign.id}&status=pending",
                        data={"csrf_token": csrf_from(client, ledger)})
    assert reply.status_code == 303
    job_url = reply.headers["Location"]
    assert run_next(db.engine) is not None
    session.rollback()  # see what the runner committed
    assert "返回整改台账" in client.get(job_url).get_data(as_text=True)
    reply = client.get(f"{job_url}/download")
    assert reply.headers["Content-Disposition"].endswith(f"campaign-{campaign.id}-followups.xlsx")
    sheet = load_workbook(io.BytesIO(reply.get_data())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 2 and values[1][6] == "待处理"  # the filter and the unit travelled
    assert client.get(f"/admin/followups/export.csv?campaign={campaign.id}&contact=1") \
        .status_code == 403


def test_overlapping_batches_at_once_open_each_follow_up_once(app, session, make_campaign,
                                                              make_link, make_item):
    import threading

    from sync.followups.models import ResponseContact

    campaign = make_campaign()
    _, token = make_link(campaign)
    pool = [make_item(token, comment=f"意见{i}", contact="13900000000") for i in range(12)]
    batches = [pool[3 * k: 3 * k + 6] for k in range(4)]  # neighbours overlap by three
    barrier = threading.Barrier(len(batches))
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            client = app.test_client()
            barrier.wait()
            reply = client.post("/api/v1/sync", json={"device_id": f"d{k}",
                                                      "responses": batches[k]})
            assert reply.status_code == 200
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    session.rollback()
    posted = {i["id"] for b in batches for i in b}
    opened = session.scalars(select(Response.uuid).join(
        FollowUp, FollowUp.response_id == Response.id)).all()
    assert sorted(opened) == sorted(posted)  # each once: the merge stored each once
    assert len(session.scalars(select(ResponseContact.response_id)).all()) == len(posted)
