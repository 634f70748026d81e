"""Excluding a rating takes it out of tallies (never out of the store), and is audited."""

from __future__ import annotations

import csv
import io
import re
import threading
from threading import BrokenBarrierError

import pytest
from sqlalchemy import select

from collector.extensions import db
from sync.audit import AuditEntry
from sync.db import write_transaction
from sync.integrity.exclusions import ExclusionError, exclude_response, include_response
from sync.models import Response, Role
from sync.reports.tallies import campaign_tally

from .conftest import unit_by_code


def _zf04(session, campaign):  # type: ignore[no-untyped-def]
    tally = campaign_tally(session, campaign, compare=False)
    return next(u for u in tally.units() if u.code == "ZF04")


def test_exclusion_changes_the_tally_and_inclusion_restores_it(session, hand_built, make_user):
    admin = make_user("admin", Role.ADMIN)
    before = _zf04(session, hand_built)
    assert before.respondents == 3
    unit = unit_by_code(session, hand_built, "ZF04")
    worst = session.scalars(select(Response).where(Response.unit_id == unit.id)
                            .order_by(Response.id)).first()  # UUUUU (home visit)
    exclude_response(session, worst, reason="同一设备连续提交", actor=admin)
    session.commit()
    after = _zf04(session, hand_built)
    assert after.respondents == 2
    assert after.score > before.score
    assert worst.excluded_at is not None and worst.excluded_by_id == admin.id
    assert session.get(Response, worst.id) is not None  # still stored

    with pytest.raises(ExclusionError, match="已被剔除"):
        exclude_response(session, worst, reason="再来一次", actor=admin)
    session.rollback()

    include_response(session, worst, reason="核实为真实评议", actor=admin)
    session.commit()
    assert _zf04(session, hand_built).respondents == 3
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["response.exclude", "response.include"]
    last = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert last.before == {"excluded": True, "reason": "同一设备连续提交"}
    assert last.after["excluded"] is False and last.after["include_reason"] == "核实为真实评议"
    assert last.target_id == worst.uuid and last.campaign_id == hand_built.id


def test_a_reason_is_required(session, hand_built, make_user):
    admin = make_user("admin", Role.ADMIN)
    response = session.scalars(select(Response)).first()
    with pytest.raises(ExclusionError, match="请填写理由"):
        exclude_response(session, response, reason="   ", actor=admin)
    with pytest.raises(ExclusionError, match="未被剔除"):
        include_response(session, response, reason="理由", actor=admin)


# --- through the pages -----------------------------------------------------------------------

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _csrf(client, url: str) -> str:  # type: ignore[no-untyped-def]
    match = TOKEN_RE.search(client.get(url).get_data(as_text=True))
    assert match, url
    return match.group(1)


def _export_rows(client, campaign) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    body = client.get(f"/admin/campaigns/{campaign.id}/export.csv?table=responses")
    rows = list(csv.DictReader(io.StringIO(body.get_data(as_text=True).lstrip("\ufeff"))))
    return {r["编号"]: r for r in rows}


def test_admin_excludes_a_flagged_rating_from_the_unit_page(client, session, hand_built,
                                                            make_user, login):
    login(make_user("boss", Role.ADMIN))
    zf04 = unit_by_code(session, hand_built, "ZF04")
    unit_url = f"/admin/campaigns/{hand_built.id}/units/{zf04.id}"
    results_url = f"/admin/campaigns/{hand_built.id}/results"

    # The silent all-lowest rating is flagged on the results and unit pages, not yet excluded.
    results = client.get(results_url).get_data(as_text=True)
    assert "风险提示" in results and "全部最低档 <strong>1</strong> 份" in results
    page = client.get(unit_url).get_data(as_text=True)
    assert "每一项都选了最低档（不满意），且没有填写意见建议。" in page
    flagged = session.scalars(select(Response).where(Response.unit_id == zf04.id)
                              .order_by(Response.id)).first()
    assert f'action="/admin/responses/{flagged.id}/exclude"' in page
    assert _zf04(session, hand_built).respondents == 3

    # No reason: refused with a message, nothing changes.
    reply = client.post(f"/admin/responses/{flagged.id}/exclude",
                        data={"reason": " ", "csrf_token": _csrf(client, unit_url)})
    assert reply.status_code == 422 and "请填写理由" in reply.get_data(as_text=True)

    reply = client.post(f"/admin/responses/{flagged.id}/exclude", data={
        "reason": "入户访谈记录缺失，核实无此人", "csrf_token": _csrf(client, unit_url)})
    assert reply.status_code == 302 and reply.headers["Location"].endswith(f"{unit_url}#signals")
    session.expire_all()
    assert _zf04(session, hand_built).respondents == 2
    assert "<td class=\"num\">2</td>" in client.get(unit_url).get_data(as_text=True)

    # Still in the raw export, marked, with the reason and the signal.
    row = _export_rows(client, hand_built)[flagged.uuid]
    assert row["已剔除"] == "是" and row["剔除原因"] == "入户访谈记录缺失，核实无此人"
    assert row["风险提示"].startswith("全部最低档：")
    others = [r for u, r in _export_rows(client, hand_built).items() if u != flagged.uuid]
    assert len(others) == 12 and all(r["已剔除"] == "" for r in others)

    # Taken back: counted again, still audited.
    page = client.get(unit_url).get_data(as_text=True)
    assert "已剔除" in page and f"/admin/responses/{flagged.id}/include" in page
    reply = client.post(f"/admin/responses/{flagged.id}/include", data={
        "reason": "补齐访谈记录", "csrf_token": _csrf(client, unit_url)})
    assert reply.status_code == 302
    session.expire_all()
    assert _zf04(session, hand_built).respondents == 3
    assert session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all() == [
        "response.exclude", "export.download", "export.download", "response.include"]


def test_secretaries_neither_see_signals_nor_exclude(client, session, hand_built, make_user,
                                                     login):
    zf04 = unit_by_code(session, hand_built, "ZF04")
    login(make_user("jiaotong", units=[zf04]))
    unit_url = f"/admin/campaigns/{hand_built.id}/units/{zf04.id}"
    page = client.get(unit_url).get_data(as_text=True)
    assert "风险提示" not in page and "最低档" not in page
    assert "风险提示" not in client.get(f"/admin/campaigns/{hand_built.id}/results").get_data(
        as_text=True)
    header = client.get(f"/admin/campaigns/{hand_built.id}/export.csv?table=responses") \
        .get_data(as_text=True).splitlines()[0]
    assert "已剔除" in header and "风险提示" not in header
    rating = session.scalars(select(Response).where(Response.unit_id == zf04.id)).first()
    reply = client.post(f"/admin/responses/{rating.id}/exclude",
                        data={"reason": "不喜欢", "csrf_token": _csrf(client, unit_url)})
    assert reply.status_code == 403
    session.expire_all()
    assert session.get(Response, rating.id).excluded_at is None


def test_unknown_rating_is_404(client, hand_built, make_user, login):
    login(make_user("boss", Role.ADMIN))
    url = f"/admin/campaigns/{hand_built.id}/results"
    reply = client.post("/admin/responses/999999/exclude",
                        data={"reason": "x", "csrf_token": _csrf(client, url)})
    assert reply.status_code == 404


def test_two_admins_excluding_at_once_change_it_once(app, hand_built, make_user):
    """The conditional UPDATE decides: one exclusion lands, the other is told it already did."""
    admin = make_user("boss", Role.ADMIN)
    admin_id, user_class = admin.id, type(admin)  # not read from the threads: the main session
    with app.app_context():
        response_id = db.session.scalars(select(Response.id)).first()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(n: int) -> None:
        with app.app_context():
            session = db.session
            try:
                barrier.wait(timeout=10)
                with write_transaction(session):  # as the exclude route does
                    response = session.get(Response, response_id)
                    actor = session.get(user_class, admin_id)
                    exclude_response(session, response, reason=f"第{n}位管理员", actor=actor)
                outcomes.append("excluded")
            except ExclusionError:
                outcomes.append("refused")
            except BrokenBarrierError:  # pragma: no cover - the other thread failed first
                outcomes.append("barrier")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["excluded", "refused"]
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action)).all()
        assert actions == ["response.exclude"]
