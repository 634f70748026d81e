"""Which responses a report counts: channel, rater identity and a date range in Beijing time."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, func

from ..clock import LOCAL_TZ
from ..models import Channel, Response

#: Day boundaries and per-day counts follow the raters' clock (China has one time zone, no DST).
REPORT_TZ = LOCAL_TZ
REPORT_TZ_OFFSET_HOURS = 8


def counted() -> ColumnElement[bool]:
    """The one rule for which stored responses count in tallies, totals and scores.

    A device's repeat rating of a poster unit and a rating an admin excluded (fraud flag,
    upheld appeal) are kept and exported, but never counted. Of a corrected rating only the
    latest version counts, and a void counts nothing (sync/versions.py).
    """
    return and_(counted_unless_excluded(), Response.excluded_at.is_(None))


def counted_unless_excluded() -> ColumnElement[bool]:
    """`counted()` without the admin's exclusion: whether excluding the response, or taking the
    exclusion back, moves the totals (a repeat, a replaced version or a void never counted)."""
    return and_(Response.is_repeat.is_(False), Response.superseded_at.is_(None),
                Response.is_void.is_(False))


class FilterError(ValueError):
    """A filter parameter a person typed is unusable; `message` says how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TallyFilter:
    """Restrict a report to some channels, rater identities and days (inclusive)."""

    channels: frozenset[Channel] = field(default_factory=frozenset)
    identities: frozenset[str] = field(default_factory=frozenset)
    date_from: date | None = None
    date_to: date | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.channels or self.identities or self.date_from or self.date_to)

    def conditions(self) -> list[ColumnElement[bool]]:
        """WHERE clauses on Response for this filter."""
        where: list[ColumnElement[bool]] = []
        if self.channels:
            where.append(Response.channel.in_(sorted(self.channels)))
        if self.identities:
            where.append(Response.identity_key.in_(sorted(self.identities)))
        if self.date_from:
            where.append(Response.created_at >= day_start_utc(self.date_from))
        if self.date_to:
            where.append(Response.created_at < day_start_utc(self.date_to + timedelta(days=1)))
        return where

    def to_params(self) -> dict[str, Any]:
        """Query parameters that parse back into this filter (for links and exports)."""
        params: dict[str, Any] = {}
        if self.channels:
            params["channel"] = sorted(c.value for c in self.channels)
        if self.identities:
            params["identity"] = sorted(self.identities)
        if self.date_from:
            params["from"] = self.date_from.isoformat()
        if self.date_to:
            params["to"] = self.date_to.isoformat()
        return params


def day_start_utc(day: date) -> datetime:
    """The UTC instant a Beijing-time day begins (stored times are UTC)."""
    return datetime.combine(day, time(), REPORT_TZ).astimezone(timezone.utc)


def local_day(column: Any, dialect_name: str) -> ColumnElement[Any]:
    """SQL expression: the Beijing-time calendar day of a stored UTC timestamp."""
    if dialect_name == "postgresql":
        return func.date(func.timezone(REPORT_TZ.key, column))
    return func.date(column, f"+{REPORT_TZ_OFFSET_HOURS} hours")


def _parse_day(text: str, what: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{what}“{text}”格式不正确，请按 2024-05-01 的格式填写。") from None
    if not 2000 <= day.year <= 2100:
        raise FilterError(f"{what}“{text}”超出范围，请填写 2000 年至 2100 年之间的日期。")
    return day


def parse_filter(channels: Iterable[str], identities: Iterable[str], date_from: str,
                 date_to: str, identity_keys: Collection[str]) -> TallyFilter:
    """Build a filter from form values; empty values mean "all".

    :raise FilterError: unknown channel or identity, a malformed date, or an inverted range.
    """
    chosen_channels = set()
    for value in filter(None, (c.strip() for c in channels)):
        try:
            chosen_channels.add(Channel(value))
        except ValueError:
            raise FilterError(f"未知的评议方式“{value}”。") from None
    chosen_identities = {i.strip() for i in identities if i.strip()}
    unknown = sorted(chosen_identities - set(identity_keys))
    if unknown:
        raise FilterError(f"未知的评议人员身份“{unknown[0]}”。")
    start = _parse_day(date_from, "开始日期")
    end = _parse_day(date_to, "结束日期")
    if start and end and start > end:
        raise FilterError("开始日期不能晚于结束日期。")
    return TallyFilter(frozenset(chosen_channels), frozenset(chosen_identities), start, end)


def local_time(moment: datetime) -> datetime:
    """A stored timestamp in Beijing time; naive values (SQLite) are UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(REPORT_TZ)
