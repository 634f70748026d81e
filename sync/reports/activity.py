"""What the live dashboard shows: ratings so far, per channel, per day, latest comments."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ..models import Campaign, Channel, Response, Unit
from .filters import TallyFilter, local_day


@dataclass
class LatestComment:
    unit_code: str
    unit_name: str
    channel: Channel
    created_at: datetime
    comment: str


@dataclass
class Activity:
    total: int
    by_channel: list[tuple[Channel, int]]
    by_day: list[tuple[date, int]]
    latest_comments: list[LatestComment]


def _scope(campaign: Campaign, tally_filter: TallyFilter,
           unit_ids: Collection[int] | None) -> list[ColumnElement[bool]]:
    where = [Response.campaign_id == campaign.id, *tally_filter.conditions()]
    if unit_ids is not None:
        where.append(Response.unit_id.in_(sorted(unit_ids)))
    return where


def campaign_activity(session: Session, campaign: Campaign,
                      tally_filter: TallyFilter | None = None,
                      unit_ids: Collection[int] | None = None,
                      comments: int = 10) -> Activity:
    """Count the campaign's responses per channel and per Beijing-time day, in SQL.

    `unit_ids` limits everything to those units (a secretary's); None means all units.
    """
    where = _scope(campaign, tally_filter or TallyFilter(), unit_ids)
    by_channel = session.execute(
        select(Response.channel, func.count()).where(*where).group_by(Response.channel)).all()
    day = local_day(Response.created_at, session.get_bind().dialect.name).label("day")
    by_day = session.execute(
        select(day, func.count()).where(*where).group_by(day).order_by(day)).all()
    latest = session.execute(
        select(Unit.code, Unit.name, Response.channel, Response.created_at, Response.comment)
        .join(Unit, Unit.id == Response.unit_id)
        .where(*where, Response.comment.is_not(None), Response.comment != "")
        .order_by(Response.received_at.desc(), Response.id.desc()).limit(comments)).all()
    channel_counts = {Channel(c): n for c, n in by_channel}
    return Activity(
        total=sum(channel_counts.values()),
        by_channel=[(c, channel_counts[c]) for c in Channel if c in channel_counts],
        by_day=[(d if isinstance(d, date) else date.fromisoformat(d), n) for d, n in by_day],
        latest_comments=[LatestComment(code, name, channel, created, comment or "")
                         for code, name, channel, created, comment in latest],
    )
