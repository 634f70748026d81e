"""What the live dashboard shows: ratings so far, per channel, per day, latest comments."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Campaign, Channel, Response, Unit
from .filters import TallyFilter
from .totals import respondent_counts


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


def campaign_activity(session: Session, campaign: Campaign,
                      tally_filter: TallyFilter | None = None,
                      unit_ids: Collection[int] | None = None,
                      comments: int = 10) -> Activity:
    """Counted responses per channel and per Beijing-time day, from the running totals.

    `unit_ids` limits everything to those units (a secretary's); None means all units.
    """
    tally_filter = tally_filter or TallyFilter()
    by_channel = respondent_counts(session, campaign.id, tally_filter, unit_ids, by="channel")
    by_day = respondent_counts(session, campaign.id, tally_filter, unit_ids, by="day")
    where = [Response.campaign_id == campaign.id, *tally_filter.conditions()]
    if unit_ids is not None:
        where.append(Response.unit_id.in_(sorted(unit_ids)))
    # Newest first through ix_responses_campaign_received: stops after `comments` matches.
    latest = session.execute(
        select(Unit.code, Unit.name, Response.channel, Response.created_at, Response.comment)
        .join(Unit, Unit.id == Response.unit_id)
        .where(*where, Response.comment.is_not(None), Response.comment != "")
        .order_by(Response.received_at.desc(), Response.id.desc()).limit(comments)).all()
    channel_counts = {Channel(c): n for c, n in by_channel.items()}
    return Activity(
        total=sum(channel_counts.values()),
        by_channel=[(c, channel_counts[c]) for c in Channel if c in channel_counts],
        by_day=[(d if isinstance(d, date) else date.fromisoformat(d), n)
                for d, n in by_day.items()],
        latest_comments=[LatestComment(code, name, channel, created, comment or "")
                         for code, name, channel, created, comment in latest],
    )
