"""Running totals of counted answers, kept in the same transaction as the ratings they count.

Pages, polls and the tallies API read these few rows instead of scanning responses. One row
counts the answers of one (campaign, unit, item, level, channel, identity, Beijing-time day);
rows with ``item_id = 0`` count respondents (a rater answers several items, so answers cannot
tell). Each change is written twice: once at that fine grain (for channel, identity and day
filters) and once into a roll-up row per (unit, item, level) with channel ``*``, identity ``*``
and day ``ROLLUP_DAY``, so an unfiltered page reads units × items × levels rows however many
ratings and days there are.

Whether a response counts (`filters.counted()`) may only change together with `apply_delta`,
called in the transaction that makes the change. `rebuild_totals` recomputes everything from
the responses.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from itertools import islice
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    ForeignKey,
    Integer,
    Row,
    String,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import fastsql
from ..clock import local_day as clock_day
from ..models import Answer, Base, Response
from .filters import TallyFilter, counted, local_day

#: channel and identity of roll-up rows (never a real channel key or identity key)
ROLLUP = "*"
#: day of roll-up rows (no rating is made in year 1)
ROLLUP_DAY = date(1, 1, 1)
#: item_id and level_id of respondent rows
RESPONDENTS = 0
#: ids per statement when applying a delta to many responses
_CHUNK = 500


class TallyTotal(Base):
    """Counted answers (or respondents, item_id 0) of one cell; see the module docstring."""

    __tablename__ = "tally_totals"

    # Key order matters: (campaign, day) first, so the roll-up rows of a campaign (one day,
    # ROLLUP_DAY) and a date range of fine rows are each one contiguous range of the index.
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    #: Beijing-time day of created_at, ROLLUP_DAY for the roll-up
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: 0 for the respondents row; not a foreign key for that reason
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Channel value, or "*" for the roll-up
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: identity key, "" when the rater gave none, "*" for the roll-up
    identity_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    score_sum: Mapped[int] = mapped_column(Integer, default=0)


def _deltas(where: ColumnElement[bool], sign: int, dialect: str):  # type: ignore[no-untyped-def]
    """SELECT of (key…, n, score_sum) rows adding (sign 1) or removing (-1) matching responses."""
    day = local_day(Response.created_at, dialect)
    identity = func.coalesce(Response.identity_key, "")
    rollup_day = literal(ROLLUP_DAY, Date)
    if dialect == "postgresql":  # SQLite's CAST(... AS DATE) would make it a number
        rollup_day = cast(rollup_day, Date)
    rollup = (literal(ROLLUP), literal(ROLLUP), rollup_day)
    fine = (Response.channel, identity, day)
    answered = Answer.__table__.join(Response.__table__, Answer.response_id == Response.id)
    keys = [Response.campaign_id, Response.unit_id]
    parts = []
    for grain, grouped in ((fine, fine), (rollup, ())):
        parts.append(
            select(*keys, Answer.item_id, Answer.level_id, *grain,
                   func.count() * sign, func.sum(Answer.score) * sign)
            .select_from(answered).where(where)
            .group_by(*keys, Answer.item_id, Answer.level_id, *grouped))
        parts.append(
            select(*keys, literal(RESPONDENTS), literal(RESPONDENTS), *grain,
                   func.count() * sign, literal(0))
            .where(where).group_by(*keys, *grouped))
    return union_all(*parts).subquery()


def _upsert_statement(where: ColumnElement[bool], sign: int, dialect: str):  # type: ignore[no-untyped-def]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    deltas = _deltas(where, sign, dialect)
    table = TallyTotal.__table__
    keys = ["campaign_id", "unit_id", "item_id", "level_id", "channel", "identity_key", "day"]
    # "WHERE true" tells SQLite's parser the ON CONFLICT belongs to the INSERT, not a join.
    # ORDER BY the key: concurrent batches then lock shared total rows in one order, where
    # the GROUP BY's own order would let two of them deadlock on PostgreSQL.
    stmt = insert(table).from_select(
        [*keys, "n", "score_sum"],
        select(deltas).where(literal(True)).order_by(*(deltas.c[i] for i in range(7))))
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={
        "n": table.c.n + stmt.excluded.n,
        "score_sum": table.c.score_sum + stmt.excluded.score_sum,
    })
    return stmt


#: apply_delta's statement per (dialect, sign), built once: a sync batch only binds its ids
_delta_statements: dict[tuple[str, int], Any] = {}


def _delta_statement(dialect: str, sign: int):  # type: ignore[no-untyped-def]
    key = (dialect, sign)
    if key not in _delta_statements:
        _delta_statements[key] = _upsert_statement(_id_in_list(dialect), sign, dialect)
    return _delta_statements[key]


def _id_in_list(dialect: str) -> ColumnElement[bool]:
    """`Response.id` in the one parameter `ids` (an array; JSON text on SQLite): one compiled
    form whatever the number of ids, unlike an expanding IN."""
    if dialect == "postgresql":
        return Response.id == any_(bindparam("ids", type_=postgresql.ARRAY(Integer)))
    ids = func.json_each(bindparam("ids", type_=String)).table_valued("value")
    return Response.id.in_(select(ids.c.value))


def _ids_value(dialect: str, ids: list[int]) -> Any:
    return ids if dialect == "postgresql" else json.dumps(ids)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    it = iter(sorted(set(ids)))
    while chunk := list(islice(it, _CHUNK)):
        yield chunk


def apply_delta(target: Session | Connection, response_ids: Iterable[int], sign: int) -> None:
    """Add (sign=1) or remove (sign=-1) these responses' answers and respondents in the totals.

    Call it in the transaction that makes these responses start or stop counting (stored and
    counted, excluded, re-included, superseded), with exactly the responses whose status flips;
    it does not look at their flags. One statement per 500 responses.
    """
    if sign not in (1, -1):
        raise ValueError("sign must be 1 or -1")
    conn = target if isinstance(target, Connection) else target.connection()
    dialect = conn.dialect.name
    stmt = _delta_statement(dialect, sign)
    for chunk in _chunks(response_ids):
        fastsql.run(conn, stmt, [{"ids": _ids_value(dialect, chunk)}])


_KEYS = ("campaign_id", "unit_id", "item_id", "level_id", "channel", "identity_key", "day")


def _add_on_conflict(statement: Any) -> Any:
    """Make an INSERT of total rows add to the rows already there."""
    table = TallyTotal.__table__
    return statement.on_conflict_do_update(index_elements=list(_KEYS), set_={
        "n": table.c.n + statement.excluded.n,
        "score_sum": table.c.score_sum + statement.excluded.score_sum,
    })


def count_new_ratings(conn: Connection,
                      ratings: Iterable[tuple[dict[str, Any], Sequence[dict[str, int]]]]) -> None:
    """Add responses the caller has just stored — (response row, its answers) — to the totals.

    The merge knows these rows whole, so the cells are summed here instead of read back from
    the store: one multi-row upsert, the same rows `apply_delta(…, 1)` would add (the property
    test holds both to a GROUP BY over the raw rows).
    """
    cells: dict[tuple[Any, ...], list[int]] = {}

    def add(key: tuple[Any, ...], score: int) -> None:
        cell = cells.setdefault(key, [0, 0])
        cell[0] += 1
        cell[1] += score

    for row, answers in ratings:
        grains = ((str(row["channel"]), row["identity_key"] or "", clock_day(row["created_at"])),
                  (ROLLUP, ROLLUP, ROLLUP_DAY))
        for grain in grains:
            add((row["campaign_id"], row["unit_id"], RESPONDENTS, RESPONDENTS, *grain), 0)
            for answer in answers:
                add((row["campaign_id"], row["unit_id"], answer["item_id"], answer["level_id"],
                     *grain), answer["score"])
    # In key order: concurrent batches then lock shared total rows in one order.
    rows = [{**dict(zip(_KEYS, key, strict=True)), "n": n, "score_sum": score}
            for key, (n, score) in sorted(cells.items())]
    if rows:
        fastsql.insert_values(conn, TallyTotal.__table__, rows, _add_on_conflict)


def rebuild_totals(session: Session, campaign_ids: Collection[int]) -> None:
    """Recompute the campaigns' totals from their responses (in the caller's transaction)."""
    for campaign_id in sorted(campaign_ids):
        session.execute(delete(TallyTotal).where(TallyTotal.campaign_id == campaign_id))
        session.execute(_upsert_statement(
            and_(Response.campaign_id == campaign_id, counted()), 1,
            session.get_bind().dialect.name))


def _scope(campaign_id: int, tally_filter: TallyFilter, unit_ids: Collection[int] | None,
           fine: bool = False) -> list[ColumnElement[bool]]:
    """WHERE clauses on TallyTotal: the roll-up when nothing is filtered (and `fine` is not
    asked for), else the fine rows."""
    where: list[ColumnElement[bool]] = [TallyTotal.campaign_id == campaign_id]
    if unit_ids is not None:
        where.append(TallyTotal.unit_id.in_(sorted(unit_ids)))
    if not (fine or tally_filter.channels or tally_filter.identities or tally_filter.date_from
            or tally_filter.date_to):
        return [*where, TallyTotal.day == ROLLUP_DAY]
    where.append(TallyTotal.day != ROLLUP_DAY)
    if tally_filter.channels:
        where.append(TallyTotal.channel.in_(sorted(c.value for c in tally_filter.channels)))
    if tally_filter.identities:
        where.append(TallyTotal.identity_key.in_(sorted(tally_filter.identities)))
    if tally_filter.date_from:
        where.append(TallyTotal.day >= tally_filter.date_from)
    if tally_filter.date_to:
        where.append(TallyTotal.day <= tally_filter.date_to)
    return where


def answer_counts(session: Session, campaign_id: int, tally_filter: TallyFilter,
                  unit_ids: Collection[int] | None = None) -> Sequence[Row[Any]]:
    """Rows (unit_id, item_id, level_id, n, score_sum) of counted answers."""
    where = _scope(campaign_id, tally_filter, unit_ids)
    n = func.sum(TallyTotal.n)
    return session.execute(
        select(TallyTotal.unit_id, TallyTotal.item_id, TallyTotal.level_id, n.label("n"),
               func.sum(TallyTotal.score_sum).label("score_sum"))
        .where(*where, TallyTotal.item_id != RESPONDENTS)
        .group_by(TallyTotal.unit_id, TallyTotal.item_id, TallyTotal.level_id)
        .having(n != 0)).all()


def respondent_counts(session: Session, campaign_id: int, tally_filter: TallyFilter,
                      unit_ids: Collection[int] | None = None,
                      by: str = "unit_id") -> dict[Any, int]:
    """Counted responses grouped by a TallyTotal column: unit_id, channel or day."""
    # Channels and days live only in the fine rows.
    where = _scope(campaign_id, tally_filter, unit_ids, fine=by != "unit_id")
    column = getattr(TallyTotal, by)
    return {key: int(n) for key, n in session.execute(
        select(column, func.sum(TallyTotal.n))
        .where(*where, TallyTotal.item_id == RESPONDENTS)
        .group_by(column).having(func.sum(TallyTotal.n) != 0).order_by(column))}
