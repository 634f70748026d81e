"""SQL that formats export cells in the store: Beijing times, labels and the formula guard.

A million-row CSV cannot afford Python per cell, so the responses export asks the store for
finished text: every expression here returns text, never NULL ('' instead), and `guarded()` is
`table.neutralise` written in SQL, for SQLite and PostgreSQL alike (tests/reports/
test_export_fast.py holds the two to the same answers on hostile text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Text,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    type_coerce,
)

from ..integrity.flags import FLAG_LABELS
from ..models import Answer, Response
from ..reports.filters import REPORT_TZ, REPORT_TZ_OFFSET_HOURS
from .table import AFTER_BLANKS, FORMULA_PREFIXES

#: what str.lstrip() strips: every character str.isspace() accepts (all lie below U+3001)
WHITESPACE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())
#: first characters that can start a guarded value: a prefix, a blank before one, or "{" of {=
_TRIGGER_CODES = sorted({ord(ch) for ch in "".join(FORMULA_PREFIXES) + "{" + WHITESPACE})
_AFTER_BLANKS_1 = [p for p in AFTER_BLANKS if len(p) == 1]
_AFTER_BLANKS_2 = [p for p in AFTER_BLANKS if len(p) == 2]

TIME_SQL = {"sqlite": "%Y-%m-%d %H:%M:%S", "postgresql": "YYYY-MM-DD HH24:MI:SS"}


def text(expr: Any) -> ColumnElement[str]:
    """The value as text, '' for NULL."""
    return func.coalesce(type_coerce(expr, Text), "")


def guarded(expr: Any, dialect: str) -> ColumnElement[str]:
    """`neutralise(expr)` in SQL: an apostrophe before text a spreadsheet would run as a formula.

    The cheap test first (is the first character one that could start a formula at all?), the
    exact rule only then: starts with = + - @ tab or CR, or, after leading blanks (Python's
    str.isspace), with = + - @ or {=.
    """
    value = type_coerce(expr, Text)
    first = func.unicode(value) if dialect == "sqlite" else func.ascii(value)
    stripped = func.ltrim(value, WHITESPACE)
    risky = or_(func.substr(value, 1, 1).in_(FORMULA_PREFIXES),
                func.substr(stripped, 1, 1).in_(_AFTER_BLANKS_1),
                func.substr(stripped, 1, 2).in_(_AFTER_BLANKS_2))
    return type_coerce(case((and_(first.in_(_TRIGGER_CODES), risky), literal("'") + value),
                            else_=func.coalesce(value, "")), Text)


def cell(expr: Any, dialect: str, guard: bool) -> ColumnElement[str]:
    """Text for a cell: guarded for CSV, as typed for XLSX (a text cell is never a formula)."""
    return guarded(expr, dialect) if guard else text(expr)


def local_time(column: Any, dialect: str) -> ColumnElement[str]:
    """A stored UTC timestamp as Beijing wall time, '2024-05-01 08:30:00' (seconds truncated).

    PostgreSQL converts with the zone database, SQLite adds the fixed offset: the same for every
    date after 1991, when China last changed its clocks.
    """
    if dialect == "postgresql":
        return type_coerce(func.to_char(func.timezone(REPORT_TZ.key, column),
                                        TIME_SQL[dialect]), Text)
    # Fractional seconds cut off first: SQLite's date functions round them to milliseconds,
    # which would turn 08:30:59.9996 into 08:31:00.
    whole_seconds = func.substr(type_coerce(column, String), 1, 19)
    return type_coerce(func.strftime(TIME_SQL[dialect], whole_seconds,
                                     f"+{REPORT_TZ_OFFSET_HOURS} hours"), Text)


def labelled(expr: Any, labels: Mapping[Any, str], otherwise: Any = "") -> ColumnElement[str]:
    """CASE expr WHEN key THEN label …: a code as its label (`otherwise` for the rest)."""
    other = otherwise if isinstance(otherwise, ColumnElement) else literal(otherwise, Text)
    if not labels:
        return type_coerce(other, Text)
    return type_coerce(case(dict(labels), value=expr, else_=other), Text)


def flags_text(dialect: str, guard: bool) -> ColumnElement[str]:
    """Review flags (a JSON list) as "a,b" of their labels; most responses have none."""
    if dialect == "postgresql":
        element = func.json_array_elements_text(Response.flags).table_valued(
            "value", with_ordinality="position").render_derived("flag")
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        joined = select(func.string_agg(_flag_label(element.c.value), aggregate_order_by(
            literal(","), element.c.position))).scalar_subquery()
        empty = func.json_array_length(Response.flags) == 0
    else:
        element = func.json_each(type_coerce(Response.flags, Text)).table_valued("value")
        joined = select(func.group_concat(_flag_label(element.c.value), ",")).scalar_subquery()
        empty = type_coerce(Response.flags, Text) == "[]"
    return type_coerce(case((or_(Response.flags.is_(None), empty), ""),
                            else_=cell(joined, dialect, guard)), Text)


def _flag_label(code: ColumnElement[str]) -> ColumnElement[str]:
    return labelled(code, FLAG_LABELS, code)


def answer_levels(columns: Sequence[Sequence[int]]) -> list[ColumnElement[Any]]:
    """Per answer column, the level id the response chose (None if unanswered).

    `columns[n]` lists the item ids (of every questionnaire version) answering column n; a
    response answers one version, so at most one of them. Each is a look-up on the answers'
    primary key (SQLite; PostgreSQL reads them all at once with `answers_lateral`).
    """
    return [select(func.max(Answer.level_id))
            .where(Answer.response_id == Response.id, Answer.item_id.in_(ids or [-1]))
            .scalar_subquery() for ids in columns]


def answers_lateral(columns: Sequence[Sequence[int]]) -> Any:
    """PostgreSQL: one index scan per response pivoting its answers into columns c0, c1…"""
    return (select(*[func.max(Answer.level_id).filter(Answer.item_id.in_(ids or [-1]))
                     .label(f"c{n}") for n, ids in enumerate(columns)])
            .where(Answer.response_id == Response.id).lateral("answer_levels"))


#: characters that make csv.writer (QUOTE_MINIMAL) quote a field: delimiter, quote, line ends
CSV_SPECIAL = ',"\r\n'


def csv_text(value: str) -> str:
    """A field as csv.writer writes it: quoted (quotes doubled) only when it must be."""
    if any(ch in value for ch in CSV_SPECIAL):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_field(expr: Any) -> ColumnElement[str]:
    """`csv_text` in SQL (SQLite)."""
    return type_coerce(case(
        (expr.op("GLOB")(literal('*[",\r\n]*', Text)),
         literal('"', Text) + func.replace(expr, '"', '""') + literal('"', Text)),
        else_=expr), Text)


def csv_line(cells: Sequence[Any]) -> ColumnElement[str]:
    """The cells as one CSV line ending in CRLF, built by one printf (SQLite): one allocation
    per row instead of one per `||`, which matters when two pages are built at once."""
    pattern = ",".join(["%s"] * len(cells)) + "\r\n"
    return type_coerce(func.printf(literal(pattern, Text), *cells), Text)


def json_object(entries: Mapping[str, str]) -> str:
    """A JSON object for SQLite's json_each (the page's 风险提示 by response id)."""
    return json.dumps(entries, ensure_ascii=False)
