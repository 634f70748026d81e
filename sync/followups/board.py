"""The public board's figures: rankings, response counts and 整改 progress — nothing personal.

Only numbers and unit names leave here: no comment text, no reply text, no phone, no rater.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..clock import local_today
from ..models import Campaign, FollowUp
from ..reports import campaign_tally
from .ledger import OPEN_STATUSES


@dataclass(frozen=True)
class BoardUnit:
    rank: int | None
    name: str
    respondents: int
    score: float | None
    satisfaction_rate: float | None


@dataclass(frozen=True)
class BoardCategory:
    name: str
    units: list[BoardUnit]


@dataclass(frozen=True)
class Progress:
    """整改 progress: comments received, answered (办结/说明), still open, overdue."""

    received: int
    answered: int
    open: int
    overdue: int


@dataclass(frozen=True)
class Board:
    title: str
    respondents: int
    categories: list[BoardCategory]
    progress: Progress


def follow_up_progress(session: Session, campaign_id: int, today: date) -> Progress:
    """One grouped query over the campaign's follow-ups (indexed by campaign)."""
    open_ = FollowUp.status.in_(OPEN_STATUSES)
    received, open_n, overdue = session.execute(
        select(func.count(FollowUp.id), func.sum(case((open_, 1), else_=0)),
               func.sum(case((open_ & (FollowUp.due_on < today), 1), else_=0)))
        .where(FollowUp.campaign_id == campaign_id)).one()
    open_n, overdue = int(open_n or 0), int(overdue or 0)
    return Progress(received, received - open_n, open_n, overdue)


def board_data(session: Session, campaign: Campaign, today: date | None = None) -> Board:
    """What the public board shows for a campaign."""
    tally = campaign_tally(session, campaign, compare=False)
    categories = [
        BoardCategory(c.name, [BoardUnit(u.rank, u.name, u.respondents, u.score,
                                         u.satisfaction_rate)
                               for u in sorted(c.units, key=lambda u: (u.rank or 10**6, u.code))])
        for c in tally.categories]
    return Board(campaign.title, tally.respondents, categories,
                 follow_up_progress(session, campaign.id, today or local_today()))
