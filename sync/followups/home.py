"""A secretary's phone home: per unit, today's ratings, 满意率, open/overdue work, appeal news."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from ..clock import local_today
from ..models import Answer, FollowUp, Response, ScaleLevel, Unit
from ..reports import day_start_utc
from ..reports.filters import counted
from .ledger import OPEN_STATUSES
from .models import Appeal, AppealDecision

#: an appeal decided within this many days counts as news
NEWS_DAYS = 7


@dataclass
class UnitDay:
    unit: Unit
    today: int = 0
    satisfied: int = 0
    answers: int = 0
    open: int = 0
    overdue: int = 0
    decided: list[Appeal] = field(default_factory=list)

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.answers if self.answers else None


def secretary_home(session: Session, units: list[Unit], today: date | None = None,
                   now: datetime | None = None) -> list[UnitDay]:
    """One card per unit; four grouped queries whatever the number of units."""
    today = today or local_today()
    now = now or datetime.now(timezone.utc)
    cards = {u.id: UnitDay(u) for u in units}
    ids = list(cards)
    if not ids:
        return []
    # campaign and unit together, so the responses' (campaign_id, unit_id) index is used
    mine = and_(Response.campaign_id.in_({u.campaign_id for u in units}),
                Response.unit_id.in_(ids))
    for unit_id, n in session.execute(
            select(Response.unit_id, func.count()).where(
                mine, Response.received_at >= day_start_utc(today))
            .group_by(Response.unit_id)):
        cards[unit_id].today = n
    for unit_id, satisfied, total in session.execute(
            select(Response.unit_id,
                   func.sum(case((ScaleLevel.counts_satisfied.is_(True), 1), else_=0)),
                   func.count())
            .join(Answer, Answer.response_id == Response.id)
            .join(ScaleLevel, ScaleLevel.id == Answer.level_id)
            .where(mine, counted())
            .group_by(Response.unit_id)):
        cards[unit_id].satisfied, cards[unit_id].answers = int(satisfied or 0), total
    open_ = FollowUp.status.in_(OPEN_STATUSES)
    for unit_id, open_n, overdue in session.execute(
            select(FollowUp.owner_unit_id, func.count(),
                   func.sum(case((FollowUp.due_on < today, 1), else_=0)))
            .where(FollowUp.owner_unit_id.in_(ids), open_).group_by(FollowUp.owner_unit_id)):
        cards[unit_id].open, cards[unit_id].overdue = open_n, int(overdue or 0)
    for appeal in session.scalars(
            select(Appeal).where(Appeal.unit_id.in_(ids),
                                 Appeal.decision != AppealDecision.PENDING,
                                 Appeal.decided_at >= now - timedelta(days=NEWS_DAYS))
            .order_by(Appeal.decided_at.desc())):
        cards[appeal.unit_id].decided.append(appeal)
    return [cards[u.id] for u in units]
