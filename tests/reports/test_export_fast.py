"""The responses export formatted by the store: the same cells as a plain Python rendering of
the ORM rows, the formula guard on every text column, csv.writer's exact bytes (SQLite writes
the CSV lines, PostgreSQL COPY), in one thread or several, the header before any query."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Text, event, literal, select, update

from collector.extensions import db
from sync.exports.csv import csv_chunks
from sync.exports.formatting import WHITESPACE, csv_field, guarded
from sync.exports.formatting import local_time as local_time_sql
from sync.exports.responses import responses_table
from sync.exports.table import AFTER_BLANKS, FORMULA_PREFIXES, TIME_FORMAT, neutralise
from sync.integrity.flags import flag_label
from sync.integrity.signals import campaign_signals
from sync.models import (
    CHANNEL_LABELS,
    Campaign,
    Channel,
    IdentityChoice,
    Response,
    ScaleLevel,
    UTCDateTime,
    Visit,
)
from sync.reports import TallyFilter, local_time

from .conftest import Rating, unit_by_code

#: characters around which the formula rule and CSV quoting turn
SPECIAL = ["=", "+", "-", "@", "{", "{=", "\t", "\r", "\n", ",", '"', "'", " ", "a", "9", "满",
           *WHITESPACE]
hostile_text = st.lists(st.one_of(st.sampled_from(SPECIAL), st.characters(
    exclude_categories=("Cs",), exclude_characters="\x00")), max_size=6).map("".join)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=hostile_text)
@example(value="")
@example(value="\u3000=1")
@example(value="\u2028{=x}")
@example(value="{x")
@example(value="\x1c-1")
def test_the_sql_guard_is_neutralise(session, value):
    dialect = session.get_bind().dialect.name
    assert session.scalar(select(guarded(literal(value, Text), dialect))) == neutralise(value)


def test_times_are_cut_to_the_second_not_rounded(session):
    """08:30:59.9999 Beijing time is exported as 08:30:59, as Python formats it (SQLite's date
    functions would round it up to 08:31:00)."""
    dialect = session.get_bind().dialect.name
    moment = datetime(2026, 3, 1, 0, 30, 59, 999_900, tzinfo=timezone.utc)
    found = session.scalar(select(local_time_sql(literal(moment, UTCDateTime()), dialect)))
    assert found == "2026-03-01 08:30:59"


def test_the_sql_guard_after_every_blank(session):
    """Every blank str.lstrip() strips, before every prefix, once and twice; and blanks before
    harmless text."""
    dialect = session.get_bind().dialect.name
    blanks_of_python = "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace())
    assert WHITESPACE == blanks_of_python
    values = [blanks + start + "1" for ch in blanks_of_python for blanks in (ch, ch + " ")
              for start in (*AFTER_BLANKS, *FORMULA_PREFIXES, "a", "{", "满", "")]
    for at in range(0, len(values), 100):
        chunk = values[at:at + 100]
        found = session.execute(select(*[guarded(literal(v, Text), dialect)
                                         for v in chunk])).one()
        assert list(found) == [neutralise(v) for v in chunk]


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=hostile_text)
def test_the_sql_csv_quoting_is_csv_writers(session, value):
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL writes CSV with COPY")
    buffer = io.StringIO()
    csv.writer(buffer).writerow([value, "x"])
    assert session.scalar(select(csv_field(literal(value, Text)))) + ",x\r\n" == \
        buffer.getvalue()


@pytest.fixture
def hostile(session, make_campaign, make_link, rate, client):  # type: ignore[no-untyped-def]
    """A campaign where every text column of the export holds something a spreadsheet would
    run, or something CSV must quote: title, unit code and name, visit place, level and
    identity labels, uuids, comments, flags, exclusion reasons, an unknown identity key."""
    campaign = make_campaign(title='=标题,"年度"\n评议', units={
        "政府工作部门": [("\t=ZF01", " {=市场监管局}"), ("ZF02", "人社局,二处")],
        "中直单位": [("ZZ01", "@税务局")]})
    rate(campaign, [Rating("\t=ZF01", "SSSSS", comment="=1+1"),
                    Rating("\t=ZF01", "UUUUU"),  # straight line: a 风险提示
                    Rating("ZF02", "BSBSU", identity="rural", comment='说"好",\r\n再说'),
                    Rating("ZF02", "SSSSS", channel=Channel.VISIT),
                    Rating("ZZ01", "BBBBB", channel=Channel.SURVEY)])
    rate(campaign, [Rating("ZZ01", "SSSSS", comment=f"第{n}条") for n in range(7)])
    responses = session.scalars(select(Response).where(Response.campaign_id == campaign.id)
                                .order_by(Response.id)).all()
    responses[0].uuid = "+uuid-formula"
    responses[1].exclusion_reason = "@excluded,\"why\""
    responses[1].excluded_at = datetime.now(timezone.utc)
    responses[2].flags = ["=flag", "repeat_device"]
    responses[3].identity_key = "-unknown"
    responses[3].comment = "\u3000-2"  # the sync strips blanks; an import might not
    # two ratings with one timestamp: pages must split ties by id
    responses[5].created_at = responses[6].created_at
    session.execute(update(Visit).where(Visit.campaign_id == campaign.id)
                    .values(place='+青山村,"一组"'))
    level = session.scalars(select(ScaleLevel).where(ScaleLevel.label == "基本满意")).first()
    level.label = '=基本,"满意"'
    choice = next(c for c in campaign.questionnaire.identities if c.key == "rural")
    choice.label = '@乡村,"帮扶"'
    session.commit()
    return campaign


def expected_rows(session, campaign: Campaign, guard: bool, with_signals: bool,  # type: ignore[no-untyped-def]
                  tally_filter: TallyFilter | None = None, unit_ids=None) -> list[list[str]]:
    """The export rendered in plain Python from the ORM rows: the reference the store's
    formatting must match cell for cell."""
    g = neutralise if guard else (lambda v: v)
    items = campaign.questionnaire.items
    labels = dict(session.execute(select(ScaleLevel.id, ScaleLevel.label)).all())
    identities = {c.key: c.label for c in session.scalars(select(IdentityChoice).where(
        IdentityChoice.questionnaire_id == campaign.questionnaire_id))}
    signals = campaign_signals(session, campaign, unit_ids) if with_signals else None
    query = (select(Response).where(Response.campaign_id == campaign.id,
                                    *(tally_filter or TallyFilter()).conditions())
             .order_by(Response.created_at, Response.id))
    if unit_ids is not None:
        query = query.where(Response.unit_id.in_(unit_ids))
    rows = []
    for r in session.scalars(query):
        by_item = {a.item_id: a.level_id for a in r.answers}
        identity = r.identity_key or ""
        row = [g(r.uuid), g(campaign.title), g(r.unit.code), g(r.unit.name),
               CHANNEL_LABELS[r.channel], g(r.visit.place) if r.visit else "",
               local_time(r.created_at).strftime(TIME_FORMAT),
               local_time(r.received_at).strftime(TIME_FORMAT),
               *[g(labels[by_item[i.id]]) if i.id in by_item else "" for i in items],
               g(identities[identity]) if identity in identities else g(identity),
               g(r.comment or ""), g(",".join(flag_label(f) for f in r.flags or [])), "是" if r.excluded_at else "",
               g(r.exclusion_reason or "")]
        if signals is not None:
            flagged = signals.get(r.id)
            row.append(g(flagged.describe()) if flagged else "")
        rows.append(row)
    return rows


def csv_text(headers: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in headers])
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("page_size", [2, 50_000])
def test_csv_is_the_reference_byte_for_byte(session, hostile, threads, page_size):
    table = responses_table(session, hostile, page_size=page_size, read_threads=threads)
    body = "".join(csv_chunks(table))
    expected = expected_rows(session, hostile, guard=True, with_signals=True)
    assert body == csv_text(table.headers, expected)
    # the hostile cells really are there, guarded, and the ties and signals with them
    assert len(expected) == 12 and len({r[0] for r in expected}) == 12
    cells = {cell for row in expected for cell in row}
    assert {"'+uuid-formula", "'=1+1", "'\u3000-2", "'@excluded,\"why\"", "'=flag,同一手机重复评议",
            "'-unknown", "'\t=ZF01", "' {=市场监管局}", "'@税务局", "'+青山村,\"一组\"",
            "'=基本,\"满意\"", "'@乡村,\"帮扶\"", "'=标题,\"年度\"\n评议", "人社局,二处"} <= cells
    assert any(cell.startswith("全部最低档") for cell in cells)
    for row in csv.reader(io.StringIO(body[1:])):
        for cell in row:
            assert not cell.lstrip(WHITESPACE).startswith(("=", "+", "-", "@", "{=")), cell


def test_xlsx_rows_are_the_reference_as_typed(session, hostile):
    table = responses_table(session, hostile, guard_formulas=False, page_size=3)
    assert table.csv_pages is None
    assert list(table.rows) == expected_rows(session, hostile, guard=False, with_signals=True)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_secretarys_filtered_export_is_the_reference(session, hostile, threads):
    """Only their unit, only the filter's channel and identity, and no 风险提示."""
    zf02 = unit_by_code(session, hostile, "ZF02")
    tally_filter = TallyFilter(channels=frozenset({Channel.ONLINE, Channel.VISIT}),
                               identities=frozenset({"rural", "enterprise"}),
                               date_from=datetime.now(timezone.utc).date().replace(day=1))
    table = responses_table(session, hostile, tally_filter, {zf02.id}, with_signals=False,
                            page_size=1, read_threads=threads)
    expected = expected_rows(session, hostile, True, False, tally_filter, [zf02.id])
    assert "风险提示" not in table.headers and len(expected) == 1
    assert "".join(csv_chunks(table)) == csv_text(table.headers, expected)


def test_the_header_goes_out_before_any_query(session, hostile):
    table = responses_table(session, hostile)
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda conn, cur, stmt, *a: statements.append(stmt))
    chunks = csv_chunks(table)
    first = next(chunks)
    assert first.startswith("\ufeff编号,评议活动") and statements == []
    rest = "".join(chunks)  # the fraud signals and the pages come after
    assert statements and rest.count("\r\n") >= 12


def test_every_page_is_its_own_short_transaction(session, hostile):
    """Keys then rows, a transaction per page, none left open between pages."""
    session.rollback()  # the fixture's own transaction
    events: list[str] = []
    for name in ("begin", "rollback", "commit"):
        event.listen(db.engine, name, lambda conn, name=name: events.append(name))
    table = responses_table(session, hostile, with_signals=False, page_size=5,
                            read_threads=1)
    session.rollback()  # the one the table's set-up read in
    events.clear()
    pages = table.csv_pages
    assert pages is not None
    for _ in pages:
        assert events[-1] == "rollback"  # nothing open while the page is sent
    # 12 rows in pages of 5: per page a keys and a rows transaction, and the final empty one
    assert events.count("begin") == 3 * 2 + 1 == events.count("rollback")
    assert "commit" not in events
