"""Fraud signals: ratings that look made to bend the numbers, each with the reason in Chinese.

Signals are evidence for an admin, never a verdict: they are computed when a results or unit page
or an export asks (never in the sync path), shown and exported, and change nothing by themselves.
An admin who agrees excludes the rating (sync.integrity.exclusions).

Every query is limited to one campaign and grouped on an indexed column (campaign + device,
campaign + address, campaign + unit); only the few suspicious groups come back to Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from ..models import Answer, Campaign, Channel, QuestionnaireItem, Response, ScaleLevel
from ..questionnaires import questionnaire_versions

TOO_FAST = "too_fast"
BURST = "burst"
MANY_UNITS = "many_units"
SAME_COMMENT = "same_comment"
STRAIGHT_LINE = "straight_line"

LABELS = {
    TOO_FAST: "用时过短",
    BURST: "集中提交",
    MANY_UNITS: "一机多评",
    SAME_COMMENT: "意见雷同",
    STRAIGHT_LINE: "全部最低档",
}


@dataclass(frozen=True)
class BurstRule:
    """More than `limit` ratings within `window` from one source is a burst."""

    limit: int
    window: timedelta


#: one phone scanning posters: a person rates a few offices, not a stream of them
DEVICE_BURST = BurstRule(limit=5, window=timedelta(minutes=5))
#: one address: a hall's Wi-Fi or a carrier's NAT carries many honest raters, so allow more
ADDRESS_BURST = BurstRule(limit=20, window=timedelta(minutes=10))
#: one device rating this many units of a campaign by poster scan
MANY_UNITS_THRESHOLD = 5
#: a comment counts as "the same" when this many ratings carry it word for word...
SAME_COMMENT_THRESHOLD = 3
#: ...and it has at least this many characters (so "无" or "很好" never count)
SAME_COMMENT_MIN_LENGTH = 6


@dataclass(frozen=True)
class Signal:
    kind: str
    #: why, in words an admin can check
    reason: str

    @property
    def label(self) -> str:
        return LABELS[self.kind]


@dataclass
class Flagged:
    """A rating with the signals it raised."""

    response_id: int
    unit_id: int
    signals: list[Signal] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return [s.kind for s in self.signals]

    def describe(self) -> str:
        """One line for exports: 用时过短：…；集中提交：…"""
        return "；".join(f"{s.label}：{s.reason}" for s in self.signals)


@dataclass
class SignalReport:
    """The flagged ratings of a campaign (or some of its units), by response id."""

    flagged: dict[int, Flagged] = field(default_factory=dict)

    def add(self, response_id: int, unit_id: int, signal: Signal) -> None:
        entry = self.flagged.setdefault(response_id, Flagged(response_id, unit_id))
        if signal.kind not in entry.kinds:
            entry.signals.append(signal)

    def count_by_kind(self) -> dict[str, int]:
        counts = dict.fromkeys(LABELS, 0)
        for entry in self.flagged.values():
            for kind in entry.kinds:
                counts[kind] += 1
        return counts

    def count_by_unit(self) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for entry in self.flagged.values():
            counts[entry.unit_id] += 1
        return dict(counts)

    def __contains__(self, response_id: object) -> bool:
        return response_id in self.flagged

    def get(self, response_id: int) -> Flagged | None:
        return self.flagged.get(response_id)


def campaign_signals(session: Session, campaign: Campaign,
                     unit_ids: Collection[int] | None = None) -> SignalReport:
    """Every signal raised by the campaign's ratings; with `unit_ids`, only those units' ratings
    are reported (a device or address is still judged on all its ratings in the campaign)."""
    report = SignalReport()
    scope = [Response.campaign_id == campaign.id]
    if unit_ids is not None:
        scope.append(Response.unit_id.in_(sorted(unit_ids)))
    _too_fast(session, campaign, scope, report)
    _bursts(session, campaign, scope, report)
    _many_units(session, campaign, scope, report)
    _same_comments(session, campaign, scope, report)
    _straight_lines(session, campaign, scope, report)
    return report


def _seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[float]:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _too_fast(session: Session, campaign: Campaign, scope: list[Any],
              report: SignalReport) -> None:
    # The form receipt is the server-signed time the rater opened the form. Sent is the phone's
    # submit time, or the server's receive time when earlier: a phone clock set ahead must not
    # hide a rating that reached the server seconds after its form was opened.
    opened = Response.receipt_issued_at
    limit = campaign.min_seconds
    dialect = session.get_bind().dialect.name
    least = func.least if dialect == "postgresql" else func.min  # SQLite's scalar min(a, b)
    seconds = least(_seconds_between(Response.created_at, opened, dialect),
                    _seconds_between(Response.received_at, opened, dialect)).label("seconds")
    rows = session.execute(select(Response.id, Response.unit_id, seconds)
                           .where(*scope, opened.is_not(None), seconds < limit))
    for response_id, unit_id, taken in rows:
        taken = max(float(taken), 0)
        report.add(response_id, unit_id, Signal(
            TOO_FAST, f"打开表单后 {taken:.0f} 秒即提交，少于活动设定的 {limit} 秒。"))


def _windows(times: list[tuple[int, int, datetime]], rule: BurstRule
             ) -> Iterable[tuple[int, int, int]]:
    """(response id, unit id, ratings in its busiest window) for ratings inside a burst."""
    times.sort(key=lambda t: t[2])
    busiest: dict[int, int] = {}
    start = 0
    for end in range(len(times)):
        while times[end][2] - times[start][2] > rule.window:
            start += 1
        size = end - start + 1
        if size > rule.limit:
            for i in range(start, end + 1):
                busiest[i] = max(busiest.get(i, 0), size)
    for i, size in busiest.items():
        yield times[i][0], times[i][1], size


def _bursts(session: Session, campaign: Campaign, scope: list[Any],
            report: SignalReport) -> None:
    # Home visits are one phone collecting rater after rater: a stream there is the job.
    not_visit = Response.channel != Channel.VISIT
    for column, rule, what in ((Response.device_id, DEVICE_BURST, "同一设备"),
                               (Response.client_ip, ADDRESS_BURST, "同一网络地址")):
        sources = list(session.scalars(
            select(column).where(Response.campaign_id == campaign.id, column.is_not(None),
                                 not_visit)
            .group_by(column).having(func.count() > rule.limit)))
        if not sources:
            continue
        per_source: dict[str, list[tuple[int, int, datetime]]] = defaultdict(list)
        for response_id, unit_id, source, received in session.execute(
                select(Response.id, Response.unit_id, column, Response.received_at)
                .where(Response.campaign_id == campaign.id, column.in_(sources), not_visit)):
            per_source[source].append((response_id, unit_id, received))
        wanted = _ids_in_scope(session, scope, [i for rows in per_source.values()
                                                for i, _, _ in rows])
        minutes = int(rule.window.total_seconds() // 60)
        for source, rows in per_source.items():
            shown = f"（{source}）" if column is Response.client_ip else ""
            for response_id, unit_id, size in _windows(rows, rule):
                if response_id in wanted:
                    report.add(response_id, unit_id, Signal(
                        BURST, f"{what}{shown} {minutes} 分钟内提交了 {size} 份评议，"
                               f"超过 {rule.limit} 份。"))


def _ids_in_scope(session: Session, scope: list[Any], ids: list[int]) -> set[int]:
    if len(scope) == 1:  # the whole campaign
        return set(ids)
    return set(session.scalars(select(Response.id).where(*scope, Response.id.in_(ids))))


def _many_units(session: Session, campaign: Campaign, scope: list[Any],
                report: SignalReport) -> None:
    poster = Response.channel == Channel.ONLINE
    devices = dict(session.execute(
        select(Response.device_id, func.count(Response.unit_id.distinct()))
        .where(Response.campaign_id == campaign.id, Response.device_id.is_not(None), poster)
        .group_by(Response.device_id)
        .having(func.count(Response.unit_id.distinct()) >= MANY_UNITS_THRESHOLD)).all())
    if not devices:
        return
    for response_id, unit_id, device in session.execute(
            select(Response.id, Response.unit_id, Response.device_id)
            .where(*scope, poster, Response.device_id.in_(list(devices)))):
        report.add(response_id, unit_id, Signal(
            MANY_UNITS, f"同一设备扫码评议了本活动的 {devices[device]} 个单位"
                        f"（达到 {MANY_UNITS_THRESHOLD} 个即提示）。"))


def _same_comments(session: Session, campaign: Campaign, scope: list[Any],
                   report: SignalReport) -> None:
    repeated = dict(session.execute(
        select(Response.comment, func.count())
        .where(Response.campaign_id == campaign.id,
               func.length(Response.comment) >= SAME_COMMENT_MIN_LENGTH)
        .group_by(Response.comment)
        .having(func.count() >= SAME_COMMENT_THRESHOLD)).all())
    if not repeated:
        return
    for response_id, unit_id, comment in session.execute(
            select(Response.id, Response.unit_id, Response.comment)
            .where(*scope, Response.comment.in_(list(repeated)))):
        report.add(response_id, unit_id, Signal(
            SAME_COMMENT, f"与另外 {repeated[comment] - 1} 份评议的意见建议一字不差。"))


def _lowest_levels(session: Session, campaign: Campaign) -> dict[int, str]:
    """Level id → label of the lowest-scoring level of every scale the campaign has used."""
    versions = [q.id for q in questionnaire_versions(session, campaign)]
    scale_ids = select(QuestionnaireItem.scale_id).where(
        QuestionnaireItem.questionnaire_id.in_(versions))
    lowest = (select(ScaleLevel.scale_id, func.min(ScaleLevel.score).label("score"))
              .where(ScaleLevel.scale_id.in_(scale_ids)).group_by(ScaleLevel.scale_id)
              .subquery())
    return dict(session.execute(
        select(ScaleLevel.id, ScaleLevel.label).join(lowest, and_(
            ScaleLevel.scale_id == lowest.c.scale_id, ScaleLevel.score == lowest.c.score))).all())


def _straight_lines(session: Session, campaign: Campaign, scope: list[Any],
                    report: SignalReport) -> None:
    lowest = _lowest_levels(session, campaign)
    if not lowest:
        return
    # At least one answer and none above the lowest level: the second test stops at the first
    # other answer, so most ratings cost one index look-up (a GROUP BY over every answer of the
    # campaign took 2.5 times as long at a million ratings).
    answers = select(Answer.response_id).where(Answer.response_id == Response.id)
    rows = session.execute(
        select(Response.id, Response.unit_id)
        .where(*scope, or_(Response.comment.is_(None), Response.comment == ""),
               answers.exists(),
               ~answers.where(Answer.level_id.not_in(list(lowest))).exists()))
    label = "、".join(dict.fromkeys(lowest.values()))
    for response_id, unit_id in rows:
        report.add(response_id, unit_id, Signal(
            STRAIGHT_LINE, f"每一项都选了最低档（{label}），且没有填写意见建议。"))


def review_list(session: Session, campaign: Campaign, unit_id: int,
                limit: int = 200) -> list[tuple[Response, Flagged | None]]:
    """A unit's flagged and excluded ratings, oldest first, with their signals (for review)."""
    report = campaign_signals(session, campaign, {unit_id})
    excluded = select(Response.id).where(Response.campaign_id == campaign.id,
                                         Response.unit_id == unit_id,
                                         Response.excluded_at.is_not(None))
    rows = session.scalars(
        select(Response).where(or_(Response.id.in_(list(report.flagged)),
                                   Response.id.in_(excluded)))
        .order_by(Response.created_at, Response.id).limit(limit))
    return [(r, report.get(r.id)) for r in rows]


def excluded_by_unit(session: Session, campaign: Campaign) -> dict[int, int]:
    """How many ratings of each unit an admin has excluded."""
    return dict(session.execute(
        select(Response.unit_id, func.count())
        .where(Response.campaign_id == campaign.id, Response.excluded_at.is_not(None))
        .group_by(Response.unit_id)).all())
