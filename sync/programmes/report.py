"""What the campaign report holds, gathered once for both the HTML and the PDF renderings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..clock import LOCAL_TZ
from ..followups.ledger import unit_counts
from ..models import Campaign, Channel, Response
from ..reports.filters import counted
from .deductions import list_deductions
from .models import SOURCE_RATINGS, Deduction
from .scores import CampaignScores, campaign_scores
from .themes import top_terms

#: comments read for the themes: the newest ones are what the committee acts on
THEME_SAMPLE = 5000


@dataclass(frozen=True)
class MethodCount:
    key: str
    name: str
    weight: float
    source: str
    #: ratings counted (ratings methods) or units with an imported score
    count: int
    channels: tuple[str, ...]


@dataclass(frozen=True)
class ReportData:
    campaign: Campaign
    generated_at: datetime
    scores: CampaignScores
    methods: list[MethodCount]
    channel_counts: list[tuple[str, int]]
    deductions: list[Deduction]
    follow_ups: list[tuple[str, int]]
    #: follow-ups opened (comments and low ratings, sync.followups)
    comments: int
    themes: list[tuple[str, int]]


def _channel_counts(session: Session, campaign: Campaign) -> dict[Channel, int]:
    """Counted ratings per channel (repeats and excluded ratings are not counted)."""
    return {Channel(c): n for c, n in session.execute(
        select(Response.channel, func.count()).where(Response.campaign_id == campaign.id,
                                                     counted())
        .group_by(Response.channel)).all()}


def build_report(session: Session, campaign: Campaign) -> ReportData:
    """Gather the report. :raise NoProgramme: the campaign has no programme."""
    scores = campaign_scores(session, campaign)
    per_channel = _channel_counts(session, campaign)
    methods = []
    for method in scores.spec.methods:
        if method.source == SOURCE_RATINGS:
            count = sum(per_channel.get(Channel(c), 0) for c in method.channels)
        else:
            count = sum(1 for u in scores.units() if method.key in u.methods)
        methods.append(MethodCount(method.key, method.name, float(method.weight), method.source,
                                   count, tuple(Channel(c).label for c in method.channels)))
    per_unit = unit_counts(session, campaign.id)
    follow_ups_total = sum(c.total for c in per_unit)
    follow_ups = [("已办结", sum(c.closed for c in per_unit)),
                  ("未办结", sum(c.open for c in per_unit)),
                  ("其中逾期", sum(c.overdue for c in per_unit))]
    texts = session.scalars(
        select(Response.comment).where(Response.campaign_id == campaign.id,
                                       Response.comment.is_not(None))
        .order_by(Response.id.desc()).limit(THEME_SAMPLE)).all()
    return ReportData(
        campaign=campaign, generated_at=datetime.now(LOCAL_TZ), scores=scores, methods=methods,
        channel_counts=[(c.label, per_channel.get(c, 0)) for c in Channel],
        deductions=list_deductions(session, campaign), follow_ups=follow_ups,
        comments=follow_ups_total, themes=top_terms(t for t in texts if t))
