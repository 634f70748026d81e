"""Excluding a rating takes it out of tallies (never out of the store), and is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sync.audit import AuditEntry
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
