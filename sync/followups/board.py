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
from ..programmes.programme import DEFAULT_GRADES
from ..programmes.scores import NoProgramme, UnitScore, campaign_scores
from ..reports import CampaignTally, campaign_tally
from .ledger import OPEN_STATUSES


@dataclass(frozen=True)
class BoardUnit:
    rank: int | None
    name: str
    respondents: int
    score: float | None
    satisfaction_rate: float | None
    grade: str | None


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


def _scored_unit(unit: UnitScore, tally: CampaignTally) -> BoardUnit:
    """A unit's line from the programme's scores, with its counts from the ratings."""
    counted = tally.unit(unit.unit_id)
    return BoardUnit(unit.rank, unit.name, counted.respondents if counted else 0,
                     None if unit.score is None else float(unit.score),
                     counted.satisfaction_rate if counted else None, unit.grade)


def default_grade(score: float | None) -> str | None:
    """The notices' default grade bands (seed 003) for a campaign without a programme."""
    if score is None:
        return None
    return next(g["label"] for g in DEFAULT_GRADES if g["min"] is None or score >= g["min"])


def board_data(session: Session, campaign: Campaign, today: date | None = None) -> Board:
    """What the public board shows for a campaign: the programme's final scores, ranks and
    grades where the campaign has a programme, else the ratings' scores and default grades."""
    tally = campaign_tally(session, campaign, compare=False)
    try:
        scored = campaign_scores(session, campaign, compare=False)
    except NoProgramme:
        scored = None
    if scored is None:
        categories = [
            BoardCategory(c.name, [BoardUnit(u.rank, u.name, u.respondents, u.score,
                                             u.satisfaction_rate, default_grade(u.score))
                                   for u in sorted(c.units,
                                                   key=lambda u: (u.rank or 10**6, u.code))])
            for c in tally.categories]
    else:
        categories = [BoardCategory(name, [_scored_unit(u, tally) for u in units])
                      for name, units in scored.categories]
    return Board(campaign.title, tally.respondents, categories,
                 follow_up_progress(session, campaign.id, today or local_today()))
