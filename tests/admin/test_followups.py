"""Follow-ups (整改台账): comments listed with status, edited by admins and their secretaries."""

from __future__ import annotations

from datetime import date

import pytest

from sync.models import FollowUp, FollowUpStatus, Response, Role

from .conftest import csrf_from

SCRIPT = "<script>alert(1)</script>"
ATTR = '" onmouseover="x'


@pytest.fixture
def rated(client, make_campaign, make_link, make_item, make_user, session):  # type: ignore[no-untyped-def]
    """Comments on ZF01 (two) and ZF02 (one); secretary 'zf01' holds ZF01."""
    campaign = make_campaign()
    _, t1 = make_link(campaign, codes=["ZF01"])
    _, t2 = make_link(campaign, codes=["ZF02"])
    items = [make_item(t1, comment="窗口排队太久"), make_item(t1, comment=f"{SCRIPT}{ATTR}"),
             make_item(t1, comment=""), make_item(t2, comment="人社局电话打不通")]
    reply = client.post("/api/v1/sync", json={"device_id": "d", "responses": items})
    assert [r["status"] for r in reply.json["results"]] == ["stored"] * 4
    zf01 = next(u for u in campaign.units if u.code == "ZF01")
    make_user("admin")
    make_user("zf01", Role.SECRETARY, units=[zf01])
    by_comment = {r.comment: r for r in session.query(Response).all()}
    return {"campaign": campaign, "responses": by_comment}


def test_secretary_sees_and_handles_only_their_comments(client, rated, login, session):
    login("zf01")
    campaign = rated["campaign"]
    text = client.get("/admin/followups").get_data(as_text=True)
    assert "窗口排队太久" in text and "人社局电话打不通" not in text
    assert "待处理" in text and "共 2 条" in text
    # the escaped hostile comment, never raw
    assert SCRIPT not in text and ATTR not in text
    assert "&lt;script&gt;" in text and "&#34; onmouseover=&#34;x" in text

    hostile = client.get(f"/admin/followups/{rated['responses'][SCRIPT + ATTR].id}")
    assert hostile.status_code == 200
    assert SCRIPT not in hostile.get_data(as_text=True)
    assert ATTR not in hostile.get_data(as_text=True)
    assert "&lt;script&gt;" in hostile.get_data(as_text=True)

    mine = rated["responses"]["窗口排队太久"]
    theirs = rated["responses"]["人社局电话打不通"]
    assert client.get(f"/admin/followups/{theirs.id}").status_code == 404
    token = csrf_from(client, f"/admin/followups/{mine.id}")
    reply = client.post(f"/admin/followups/{theirs.id}", data={
        "status": "done", "reply": "x", "csrf_token": token})
    assert reply.status_code == 404
    assert session.query(FollowUp).count() == 0
    # guessing ids of responses that do not exist, or have no comment
    assert client.get("/admin/followups/99999").status_code == 404
    blank = next(r for r in session.query(Response).all() if not r.comment)
    assert client.get(f"/admin/followups/{blank.id}").status_code == 404

    # a secretary cannot hand a comment to another unit: the field is not taken
    other_unit = next(u for u in campaign.units if u.code == "ZZ01")
    reply = client.post(f"/admin/followups/{mine.id}", data={
        "status": "in_progress", "reply": "已约谈窗口负责人", "due_on": "2026-06-30",
        "owner_unit_id": other_unit.id, "csrf_token": token})
    assert reply.status_code == 302
    follow_up = session.query(FollowUp).one()
    assert follow_up.status == FollowUpStatus.IN_PROGRESS
    assert follow_up.owner_unit_id == mine.unit_id and follow_up.due_on == date(2026, 6, 30)
    assert follow_up.reply == "已约谈窗口负责人" and follow_up.closed_on is None

    day_before = date.today()
    reply = client.post(f"/admin/followups/{mine.id}", data={
        "status": "done", "reply": "已增设窗口", "csrf_token": token})
    assert reply.status_code == 302
    session.expire_all()
    assert follow_up.status == FollowUpStatus.DONE
    assert day_before <= follow_up.closed_on <= date.today()
    assert session.query(FollowUp).count() == 1  # edited, not duplicated

    done = client.get(f"/admin/followups?campaign={campaign.id}&status=done").get_data(
        as_text=True)
    assert "窗口排队太久" in done and "已增设窗口" in done and "共 1 条" in done
    pending = client.get(f"/admin/followups?campaign={campaign.id}&status=pending").get_data(
        as_text=True)
    assert "窗口排队太久" not in pending and "共 1 条" in pending
    assert client.get("/admin/followups?status=bogus").status_code == 400


def test_secretary_cannot_open_another_campaign(client, rated, make_campaign, login):
    other = make_campaign(title="另一活动")
    login("zf01")
    assert client.get(f"/admin/followups?campaign={other.id}").status_code == 404
    assert client.get("/admin/followups?campaign=99999").status_code == 404


def test_admin_hands_a_comment_to_another_unit(client, rated, login, session, make_user):
    campaign = rated["campaign"]
    theirs = rated["responses"]["人社局电话打不通"]
    zz01 = next(u for u in campaign.units if u.code == "ZZ01")
    make_user("zz01", Role.SECRETARY, units=[zz01])
    login("admin")
    text = client.get("/admin/followups").get_data(as_text=True)
    assert "共 3 条" in text and "人社局电话打不通" in text
    reply = client.post(f"/admin/followups/{theirs.id}", data={
        "status": "pending", "reply": "", "owner_unit_id": zz01.id,
        "csrf_token": csrf_from(client, f"/admin/followups/{theirs.id}")})
    assert reply.status_code == 302
    assert session.query(FollowUp).one().owner_unit_id == zz01.id
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("zz01")
    assert "人社局电话打不通" in client.get("/admin/followups").get_data(as_text=True)
    assert client.get(f"/admin/followups/{theirs.id}").status_code == 200


def test_followup_form_refuses_bad_input(client, rated, login, session):
    login("admin")
    mine = rated["responses"]["窗口排队太久"]
    token = csrf_from(client, f"/admin/followups/{mine.id}")
    reply = client.post(f"/admin/followups/{mine.id}", data={
        "status": "finished", "due_on": "明天", "owner_unit_id": mine.unit_id,
        "csrf_token": token})
    assert reply.status_code == 422
    assert "不是有效的" in reply.get_data(as_text=True)
    assert session.query(FollowUp).count() == 0
    reply = client.post(f"/admin/followups/{mine.id}", data={"status": "done"})
    assert reply.status_code == 400
    assert session.query(FollowUp).count() == 0


def test_reopening_clears_the_closing_day(rated, session):
    from sync.followups import ensure_follow_up, update_follow_up
    from sync.models import User

    admin = session.query(User).filter_by(username="admin").one()
    response = rated["responses"]["窗口排队太久"]
    follow_up = ensure_follow_up(session, response)
    assert ensure_follow_up(session, response) is follow_up  # one record per comment
    update_follow_up(follow_up, FollowUpStatus.DONE, "已办", None, admin, today=date(2026, 5, 1))
    session.commit()
    assert follow_up.closed_on == date(2026, 5, 1)
    update_follow_up(follow_up, FollowUpStatus.IN_PROGRESS, "群众不满意，重新办理", None, admin)
    session.commit()
    assert follow_up.closed_on is None and follow_up.status == FollowUpStatus.IN_PROGRESS
