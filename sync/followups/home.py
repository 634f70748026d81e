"""A secretary's phone home: per unit, today's ratings, 满意率, open/overdue work, appeal news."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..clock import local_today
from ..models import FollowUp, ScaleLevel, Unit
from ..reports.filters import TallyFilter
from ..reports.totals import answer_counts, respondent_counts
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
    """One card per unit; a few grouped queries on totals and follow-ups, whatever the data size."""
    today = today or local_today()
    now = now or datetime.now(timezone.utc)
    cards = {u.id: UnitDay(u) for u in units}
    ids = list(cards)
    if not ids:
        return []
    # Read from the running totals, never the responses: a unit's page costs the same at a
    # million ratings. "Today" is the Beijing day the rating was made on.
    satisfied_levels = set(session.scalars(
        select(ScaleLevel.id).where(ScaleLevel.counts_satisfied.is_(True))))
    today_only = TallyFilter(date_from=today, date_to=today)
    for campaign_id in sorted({u.campaign_id for u in units}):
        unit_ids = [u.id for u in units if u.campaign_id == campaign_id]
        for unit_id, n in respondent_counts(session, campaign_id, today_only,
                                            unit_ids).items():
            cards[unit_id].today = n
        for row in answer_counts(session, campaign_id, TallyFilter(), unit_ids):
            card = cards[row.unit_id]
            card.answers += int(row.n)
            if row.level_id in satisfied_levels:
                card.satisfied += int(row.n)
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
