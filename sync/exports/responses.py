"""The responses table: one row per stored response, one column per item, streamed in keyset
pages so a million responses never sit in memory."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from datetime import datetime, timezone
from itertools import chain
from typing import Any

from sqlalchemy import String, Text, cast, func, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from ..integrity.signals import SignalReport, campaign_signals
from ..models import CHANNEL_LABELS, Answer, Campaign, Response, ScaleLevel, Visit
from ..questionnaires import item_keys
from ..reports import REPORT_TZ, TallyFilter
from .table import Row, Table, neutralise

#: rows per keyset page of the responses export: each page is its own short query
PAGE_SIZE = 5000


def responses_table(session: Session, campaign: Campaign,
                    tally_filter: TallyFilter | None = None,
                    unit_ids: Collection[int] | None = None,
                    with_signals: bool = True, page_size: int = PAGE_SIZE,
                    guard_formulas: bool = True) -> Table:
    """One row per stored response, one column per item (the level label); streamed.

    Excluded ratings stay in the file, marked, with the reason; fraud signals (for admins)
    explain themselves in 风险提示. Pages by keyset on (created_at, id) through
    ix_responses_campaign_created: no OFFSET, no cursor held open, and the read transaction
    ends between pages, so a million-row download neither loads everything nor pins the store.

    Built for speed (a million rows): plain tuples without ORM or type processing, every label
    looked up in maps built (and guarded against formulas) once, one flat query per page.
    With `guard_formulas` (for CSV) text comes out already neutralised, as `Table.guarded_pages`;
    without it (XLSX: text cells are never formulas) text is as typed.
    """
    guard = neutralise if guard_formulas else _as_typed
    items = campaign.questionnaire.items
    identities = {c.key: guard(c.label) for c in campaign.questionnaire.identities}
    headers = ["编号", "评议活动", "单位代码", "单位名称", "评议方式", "走访",
               "提交时间(北京时间)", "接收时间(北京时间)",
               *[i.label for i in items], "评议人员身份", "意见建议", "标记",
               "已剔除", "剔除原因", *(["风险提示"] if with_signals else [])]
    # Answers to earlier questionnaire versions find their column by item key.
    column_of_key = {item.key: n for n, item in enumerate(items)}
    column_of_item = {item_id: column_of_key[key]
                      for item_id, key in item_keys(session, campaign).items()
                      if key in column_of_key}
    level_labels = {level_id: guard(label) for level_id, label in
                    session.execute(select(ScaleLevel.id, ScaleLevel.label)).all()}
    units = {u.id: (guard(u.code), guard(u.name)) for u in campaign.units}
    places = {visit_id: guard(place) for visit_id, place in session.execute(
        select(Visit.id, Visit.place).where(Visit.campaign_id == campaign.id)).all()}
    channels = {**{c.value: label for c, label in CHANNEL_LABELS.items()}}
    title = guard(campaign.title)
    where = [Response.campaign_id == campaign.id,
             *(tally_filter or TallyFilter()).conditions()]
    if unit_ids is not None:
        where.append(Response.unit_id.in_(sorted(unit_ids)))
    # Each item's level id as a correlated lookup on the answers' primary key: the page query
    # returns one flat row per response, pivoted by the store, not by Python.
    item_ids_of_column: dict[int, list[int]] = {}
    for item_id, column in column_of_item.items():
        item_ids_of_column.setdefault(column, []).append(item_id)
    answer_columns = [
        select(func.max(Answer.level_id))
        .where(Answer.response_id == Response.id,
               Answer.item_id.in_(sorted(item_ids_of_column.get(n, [-1]))))
        .scalar_subquery() for n in range(len(items))]
    # type_coerce(…, String): the driver's own values, no per-value processors (SQLite hands
    # back timestamps and JSON as text, PostgreSQL timestamps as datetimes).
    page = (select(Response.id, Response.uuid, Response.unit_id,
                   type_coerce(Response.channel, String), Response.visit_id,
                   type_coerce(Response.created_at, String),
                   type_coerce(Response.received_at, String), Response.identity_key,
                   Response.comment, cast(Response.flags, Text),
                   type_coerce(Response.excluded_at, String), Response.exclusion_reason,
                   *answer_columns)
            .where(*where).order_by(Response.created_at, Response.id).limit(page_size))
    levels = level_labels.get
    beijing = _LocalTimes()

    def pages() -> Iterator[list[Row]]:
        # Signals (admins only) are judged on the whole campaign: computed here, after the
        # header has gone out, so the download starts at once.
        signals = campaign_signals(session, campaign, unit_ids) if with_signals else None
        after: tuple[datetime, int] | None = None
        while True:
            stmt = page if after is None else page.where(
                tuple_(Response.created_at, Response.id) > tuple_(*after))
            found = session.connection().execute(stmt).all()
            if not found:
                break
            session.rollback()  # end the read transaction between pages
            rows: list[Row] = []
            append = rows.append
            for (rid, uuid, unit_id, channel, visit_id, created, received, identity, comment,
                 flags, excluded, reason, *answers) in found:
                code, name = units.get(unit_id, ("", ""))
                # None (no visit, no answer) is written as an empty cell
                row = [guard(uuid), title, code, name, channels[channel],
                       places.get(visit_id), beijing(created), beijing(received),
                       *map(levels, answers),
                       identities.get(identity) or guard(identity) if identity else "",
                       guard(comment) if comment else "",
                       guard(_flags_text(flags)), "是" if excluded else "",
                       guard(reason) if reason else ""]
                if signals is not None:
                    row.append(_signals_text(signals, rid))
                append(row)
            yield rows
            last = found[-1]
            after = (_as_datetime(last[5]), last[0])

    paged = pages()
    return Table("评议结果", headers, chain.from_iterable(paged),
                 guarded_pages=paged if guard_formulas else None)


def _as_typed(value: Any) -> Any:
    return value


def _as_datetime(value: str | datetime) -> datetime:
    """A timestamp as the driver gave it (SQLite: UTC text) as an aware datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value


class _LocalTimes:
    """Timestamps as Beijing time text (2024-05-01 08:30:00), fast for a million rows.

    SQLite hands back UTC text: the local minute is looked up per distinct minute (every real
    zone's offset is whole minutes) and the seconds copied over. Datetimes are converted.
    """

    def __init__(self) -> None:
        self.minutes: dict[str, str] = {}

    def __call__(self, value: str | datetime | None) -> str:
        if not value:
            return ""
        if isinstance(value, str):
            head = self.minutes.get(value[:16])
            if head is None:
                head = self.minutes[value[:16]] = _as_datetime(value[:16]).astimezone(
                    REPORT_TZ).isoformat(" ", "minutes")[:16]
            return head + value[16:19]
        return value.astimezone(REPORT_TZ).isoformat(" ", "seconds")[:19]


def _flags_text(flags: str | list[str] | None) -> str:
    """Review flags (JSON text) as "a,b"; most responses have none."""
    if not flags or flags == "[]":
        return ""
    return ",".join(json.loads(flags) if isinstance(flags, str) else flags)


def _signals_text(signals: SignalReport, response_id: int) -> str:
    flagged = signals.get(response_id)
    return flagged.describe() if flagged else ""
