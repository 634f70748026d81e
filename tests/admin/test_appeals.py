"""Appeals (申诉复核): a unit contests a rating; an upheld appeal excludes it, all audited."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.extensions import db
from sync.audit import AuditEntry
from sync.followups.appeals import AppealError, appeal_counts, decide_appeal, file_appeal
from sync.followups.models import Appeal, AppealDecision, AppealKind
from sync.models import Response, Role, User
from sync.reports.tallies import campaign_tally

from .conftest import csrf_from


@pytest.fixture
def appealable(client, make_campaign, make_link, make_item, make_user, session):  # type: ignore[no-untyped-def]
    """ZF01 rated twice (content, and all 不满意 with a hostile comment); secretaries and admins."""
    campaign = make_campaign()
    _, token = make_link(campaign, codes=["ZF01"])
    good = make_item(token, comment="")
    bad = make_item(token, level="unsatisfied", comment="全都不满意")
    assert [r["status"] for r in client.post("/api/v1/sync", json={
        "responses": [good, bad]}).json["results"]] == ["stored", "stored"]
    units = {u.code: u for u in campaign.units}
    make_user("admin")
    make_user("admin2")
    make_user("zf01", Role.SECRETARY, units=[units["ZF01"]])
    make_user("zf02", Role.SECRETARY, units=[units["ZF02"]])
    response = session.scalar(select(Response).where(Response.uuid == bad["id"]))
    return {"campaign": campaign, "response": response}


def _zf01(session, campaign):  # type: ignore[no-untyped-def]
    return next(u for u in campaign_tally(session, campaign, compare=False).units()
                if u.code == "ZF01")


def test_upheld_appeal_excludes_the_rating_from_tallies_not_from_the_store(
        appealable, client, login, session):
    campaign, response = appealable["campaign"], appealable["response"]
    before = _zf01(session, campaign)
    assert before.respondents == 2 and before.score == 50

    page = f"/admin/responses/{response.id}/appeal"
    login("zf01")  # the rated unit's secretary finds the appeal on the follow-up
    assert page in client.get(f"/admin/followups/{response.id}").get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("zf02")  # another unit's secretary cannot appeal it
    assert client.get(page).status_code == 404
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("zf01")
    reply = client.post(page, data={"kind": "malicious", "reason": "", "csrf_token":
                                    csrf_from(client, page)})
    assert reply.status_code == 422 and session.scalar(select(Appeal.id)) is None
    reply = client.post(page, data={"kind": "malicious", "reason": "同一时段该窗口无人办事",
                                    "evidence": "大厅监控 10:02–10:30",
                                    "csrf_token": csrf_from(client, page)})
    assert reply.status_code == 302
    # a second appeal on the same rating is refused
    assert "已于" in client.get(page).get_data(as_text=True)
    appeal = session.scalar(select(Appeal))
    assert appeal.decision == AppealDecision.PENDING and appeal.filed_by.username == "zf01"
    assert client.post(f"/admin/appeals/{appeal.id}/decide", data={
        "decision": "upheld", "reason": "x",
        "csrf_token": csrf_from(client, "/admin/appeals")}).status_code == 403

    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("admin")
    listing = client.get(f"/admin/appeals?campaign={campaign.id}").get_data(as_text=True)
    assert "同一时段该窗口无人办事" in listing and "各单位申诉情况" in listing
    reply = client.post(f"/admin/appeals/{appeal.id}/decide", data={
        "decision": "upheld", "reason": "经调取监控核实",
        "csrf_token": csrf_from(client, "/admin/appeals")})
    assert reply.status_code == 302
    session.expire_all()
    assert appeal.decision == AppealDecision.UPHELD and appeal.decided_by.username == "admin"
    assert response.excluded_at is not None and "经调取监控核实" in response.exclusion_reason
    after = _zf01(session, campaign)
    assert after.respondents == 1 and after.score == 100
    assert session.get(Response, response.id) is not None  # kept, never deleted

    raw = client.get(f"/admin/campaigns/{campaign.id}/export.csv?table=responses")
    rows = list(csv.reader(io.StringIO(raw.get_data(as_text=True).lstrip("\ufeff"))))
    header = rows[0]
    row = next(r for r in rows if response.uuid in r)  # still in the raw export, marked
    assert row[header.index("已剔除")] == "是"
    assert "经调取监控核实" in row[header.index("剔除原因")]
    kept = next(r for r in rows[1:] if response.uuid not in r)
    assert kept[header.index("已剔除")] == ""

    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
               if e.action != "export.download"]
    assert actions == ["appeal.file", "appeal.decide", "response.exclude"]
    decided = session.scalar(select(AuditEntry).where(AuditEntry.action == "appeal.decide"))
    assert decided.before["decision"] == "pending" and decided.after["decision"] == "upheld"

    # decided once: a second decision is refused
    reply = client.post(f"/admin/appeals/{appeal.id}/decide", data={
        "decision": "rejected", "reason": "改判", "csrf_token": csrf_from(client, "/admin/appeals")})
    assert reply.status_code == 302
    session.expire_all()
    assert appeal.decision == AppealDecision.UPHELD


def test_rejected_appeal_keeps_the_rating_counted(appealable, session):
    campaign, response = appealable["campaign"], appealable["response"]
    zf01 = session.scalar(select(User).where(User.username == "zf01"))
    admin = session.scalar(select(User).where(User.username == "admin"))
    appeal = file_appeal(session, response, zf01, AppealKind.MALICIOUS, "恶意", None)
    session.commit()
    with pytest.raises(AppealError, match="复核理由"):
        decide_appeal(session, appeal, admin, False, "  ")
    with pytest.raises(AppealError, match="管理员"):
        decide_appeal(session, appeal, zf01, True, "x")
    decide_appeal(session, appeal, admin, False, "评价人确在当日办理业务")
    session.commit()
    assert response.excluded_at is None and _zf01(session, campaign).respondents == 2
    (count,) = appeal_counts(session, campaign.id)
    assert (count.code, count.filed, count.rejected, count.upheld, count.ratings) == \
        ("ZF01", 1, 1, 0, 2)


def _race(app, target, n=2):  # type: ignore[no-untyped-def]
    """Run `target(session)` in n threads at once, each with its own session; return outcomes."""
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def run() -> None:
        with app.app_context():
            with Session(db.engine) as own:
                barrier.wait()
                try:
                    target(own)
                    own.commit()
                    outcomes.append("ok")
                except AppealError as exc:
                    own.rollback()
                    outcomes.append(exc.message)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_appeals_at_once_make_one(app, appealable, session):
    response_id = appealable["response"].id

    def file(own: Session) -> None:
        user = own.scalar(select(User).where(User.username == "zf01"))
        file_appeal(own, own.get(Response, response_id), user, AppealKind.MALICIOUS, "恶意", None)

    outcomes = _race(app, file)
    session.rollback()  # end this session's read snapshot (SQLite WAL)
    assert sorted(outcomes) == ["ok", "该评价已提出过申诉，不能重复申诉。"]
    assert len(session.scalars(select(Appeal)).all()) == 1


def test_two_decisions_at_once_decide_once(app, appealable, session):
    zf01 = session.scalar(select(User).where(User.username == "zf01"))
    appeal = file_appeal(session, appealable["response"], zf01, AppealKind.MALICIOUS, "恶意", None)
    session.commit()
    appeal_id = appeal.id

    def decide(own: Session) -> None:
        admin = own.scalar(select(User).where(User.username.in_(["admin"])))
        decide_appeal(own, own.get(Appeal, appeal_id), admin, True, "成立")

    outcomes = _race(app, decide)
    session.rollback()
    assert sorted(outcomes) == ["ok", "该申诉已复核过。"]
    assert len(session.scalars(select(AuditEntry).where(
        AuditEntry.action == "response.exclude")).all()) == 1
