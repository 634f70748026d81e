"""Deductions (减分) entered on a page, withdrawn with a reason, and totalled under caps."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Campaign, Unit, utcnow
from .models import Deduction
from .programme import ProgrammeError, get_programme

#: what the audit log keeps of a deduction
AUDIT_FIELDS = ("unit_id", "source", "points", "reason", "evidence", "day", "entered_by",
                "withdrawn_at", "withdrawn_reason")


def add_deduction(session: Session, campaign: Campaign, unit_code: str, source: str,
                  points: str | Decimal, reason: str, day: date | None,
                  evidence: str | None, entered_by: str | None) -> Deduction:
    """Record one deduction after checking it against the programme (flushes).

    :raise ProgrammeError: unknown unit or source, bad points, empty reason.
    """
    programme = get_programme(session, campaign)
    if programme is None or source not in programme.deduction_caps:
        known = "、".join(programme.deduction_caps) if programme else ""
        raise ProgrammeError(f"来源“{source}”不在评议方案的减分来源（{known or '未设置'}）中。")
    unit = session.scalar(select(Unit).where(Unit.campaign_id == campaign.id,
                                             Unit.code == unit_code))
    if unit is None:
        raise ProgrammeError(f"单位代码“{unit_code}”不在本活动中。")
    try:
        value = Decimal(str(points).strip())
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or not 0 < value <= 100:
        raise ProgrammeError(f"分值“{points}”必须是大于 0、不超过 100 的数字。")
    if not reason.strip():
        raise ProgrammeError("请填写减分事由。")
    deduction = Deduction(campaign_id=campaign.id, unit_id=unit.id, source=source, points=value,
                          reason=reason.strip(), evidence=(evidence or "").strip() or None,
                          day=day, entered_by=entered_by)
    session.add(deduction)
    session.flush()
    return deduction


def withdraw_deduction(deduction: Deduction, reason: str) -> None:
    """Stop a deduction counting; it stays listed with the reason (nothing is deleted).

    :raise ProgrammeError: no reason given, or already withdrawn.
    """
    if deduction.withdrawn_at is not None:
        raise ProgrammeError("该减分已撤销。")
    if not reason.strip():
        raise ProgrammeError("请填写撤销原因。")
    deduction.withdrawn_at = utcnow()
    deduction.withdrawn_reason = reason.strip()


def list_deductions(session: Session, campaign: Campaign) -> list[Deduction]:
    return list(session.scalars(
        select(Deduction).join(Unit, Unit.id == Deduction.unit_id)
        .where(Deduction.campaign_id == campaign.id)
        .order_by(Unit.code, Deduction.day, Deduction.id)))


@dataclass
class SourceTotal:
    """A unit's deductions from one source: the raw sum and what counts under the cap."""

    source: str
    raw: Fraction
    cap: Fraction | None

    @property
    def counted(self) -> Fraction:
        return self.raw if self.cap is None else min(self.raw, self.cap)

    @property
    def capped(self) -> bool:
        return self.cap is not None and self.raw > self.cap


def capped_totals(session: Session, campaign: Campaign,
                  caps: dict[str, Decimal | None]) -> dict[int, list[SourceTotal]]:
    """Per unit, the standing deductions per source with each source's cap applied.

    A source no longer in the programme counts uncapped: a deduction is never silently lost.
    """
    out: dict[int, list[SourceTotal]] = defaultdict(list)
    for unit_id, source, total in session.execute(
            select(Deduction.unit_id, Deduction.source, func.sum(Deduction.points))
            .where(Deduction.campaign_id == campaign.id, Deduction.withdrawn_at.is_(None))
            .group_by(Deduction.unit_id, Deduction.source)
            .order_by(Deduction.unit_id, Deduction.source)):
        cap = caps.get(source)
        out[unit_id].append(SourceTotal(source, Fraction(Decimal(total)),
                                        None if cap is None else Fraction(cap)))
    return out
