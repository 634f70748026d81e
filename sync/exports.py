"""Export tables as (headers, rows), and CSV/XLSX writers that stream and stop formula injection.

Tables are plain (headers, rows) pairs; rows may be a generator so a million responses never sit
in memory. CSV prefixes text a spreadsheet would run as a formula with an apostrophe (OWASP's
advice for CSV); XLSX writes every text as an explicit text cell, which is never a formula.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import chain, islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import String, Text, cast, func, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from .integrity.signals import SignalReport, campaign_signals
from .models import CHANNEL_LABELS, Answer, Campaign, Response, ScaleLevel, Visit
from .questionnaires import item_keys
from .reports import REPORT_TZ, CampaignTally, TallyFilter

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

#: what makes Excel, LibreOffice or Sheets treat a cell as a formula (OWASP CSV injection)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: prefixes that still trigger after leading blanks, and the array-formula form {=…}
_AFTER_BLANKS = ("=", "+", "-", "@", "{=")

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

Row = Sequence[Any]


@dataclass
class Table:
    """One sheet or file: a title, headers and (possibly streamed) rows.

    `guarded_pages`, when set, is the same stream as `rows` in lists, with every text cell
    already neutralised: a CSV writer may hand a whole page to csv.writer at once. Read one or
    the other, never both.
    """

    title: str
    headers: list[str]
    rows: Iterable[Row]
    guarded_pages: Iterable[list[Row]] | None = None


def neutralise(value: Any) -> Any:
    """Stop spreadsheet formula injection: quoting does not, a leading apostrophe does."""
    if isinstance(value, str) and value and not value[0].isalnum() and (
            value.startswith(FORMULA_PREFIXES) or value.lstrip().startswith(_AFTER_BLANKS)):
        return "'" + value
    return value


def _percent(rate: float | None) -> float | str:
    return "" if rate is None else round(rate * 100, 2)


def _points(score: float | None) -> float | str:
    return "" if score is None else round(score, 2)


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


def tallies_table(tally: CampaignTally) -> Table:
    """One row per unit and item: counts per level, 满意率 and 100-point score."""
    headers = ["类别", "单位代码", "单位名称", "评议内容", *tally.levels, "合计", "满意率(%)",
               "得分"]
    rows = [[unit.category_name, cell.unit_code, cell.unit_name, cell.item_label,
             *[cell.counts.get(label, 0) for label in tally.levels], cell.total,
             _percent(cell.satisfaction_rate), _points(cell.score)]
            for unit in tally.units() for cell in unit.items]
    return Table("分项统计", headers, rows)


def rankings_table(tally: CampaignTally) -> Table:
    """One row per unit: overall score, rank within category, bottom-N and comparison marks."""
    bottom = f"后{tally.bottom_n}位"
    headers = ["类别", "排名", "单位代码", "单位名称", "评议人数", "满意率(%)", "综合得分",
               *[f"{item.label}得分" for item in tally.items], bottom]
    if tally.previous_campaign_id:
        headers += ["上轮得分", "上轮排名", f"连续两轮{bottom}"]
    rows = []
    for unit in tally.units():
        row = [unit.category_name, unit.rank or "", unit.code, unit.name, unit.respondents,
               _percent(unit.satisfaction_rate), _points(unit.score),
               *[_points(cell.score) for cell in unit.items], "是" if unit.bottom else ""]
        if tally.previous_campaign_id:
            prev = unit.previous
            row += [_points(prev.score) if prev else "", (prev.rank or "") if prev else "",
                    "是" if unit.bottom_twice else ""]
        rows.append(row)
    return Table("排名", headers, rows)


def csv_chunks(table: Table, batch: int = 500) -> Iterator[str]:
    """Yield the table as CSV text in chunks: BOM and header first (the download starts at
    once, before any row is read), then rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([neutralise(h) for h in table.headers])
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    if table.guarded_pages is not None:
        for page in table.guarded_pages:
            writer.writerows(page)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        return
    for count, row in enumerate(table.rows, 1):
        writer.writerow([neutralise(v) for v in row])
        if count % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_csv(path: Path, table: Table,
              progress: Callable[[int], None] | None = None) -> int:
    """Write a CSV file; return the number of data rows."""
    counted = _Counter(table.rows, progress)
    with path.open("w", encoding="utf-8", newline="") as fh:
        for chunk in csv_chunks(Table(table.title, table.headers, counted)):
            fh.write(chunk)
    return counted.count


class _Counter:
    """Iterate rows while counting them, telling `progress` every 5,000 rows."""

    def __init__(self, rows: Iterable[Row],
                 progress: Callable[[int], None] | None = None) -> None:
        self.rows = rows
        self.count = 0
        self.progress = progress

    def __iter__(self) -> Iterator[Row]:
        for row in self.rows:
            self.count += 1
            if self.progress and self.count % 5000 == 0:
                self.progress(5000)
            yield row
        if self.progress:
            self.progress(self.count % 5000)


def _display_width(value: Any) -> int:
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """Numbers stay numbers; text becomes a text cell as typed (no apostrophe).

    An explicit string cell (inline string, data type "s") is never a formula, whatever it
    starts with, so OWASP's payloads arrive as the text the rater wrote. Characters XLSX cannot
    hold are dropped.
    """
    if isinstance(value, bool):
        value = "是" if value else ""
    if isinstance(value, int | float) or value is None:
        return value
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", str(value)))
    cell.data_type = "s"
    return cell


HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="07C160")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _write_sheet(sheet: WriteOnlyWorksheet, table: Table, sample_size: int) -> int:
    rows = iter(table.rows)
    sample = list(islice(rows, sample_size))  # widths must be set before the first row
    for index, header in enumerate(table.headers):
        widest = max([_display_width(header),
                      *(_display_width(row[index]) for row in sample if index < len(row))])
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(max(widest + 2, 6), 60)
    sheet.freeze_panes = "A2"
    header_cells = []
    for header in table.headers:
        cell = _xlsx_cell(sheet, header)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in chain(sample, rows):
        sheet.append([_xlsx_cell(sheet, v) for v in row])
        count += 1
    return count


#: rows an Excel sheet holds (2007 and later); one is the header row
EXCEL_MAX_ROWS = 1_048_576


def _sheet_parts(table: Table, max_rows: int) -> Iterator[Table]:
    """Split a table into sheets of at most `max_rows` rows with the header: 评议结果,
    评议结果 (2)…, so a million-row export still opens in Excel."""
    rows = iter(table.rows)
    part = 1
    while True:
        try:
            first = next(rows)
        except StopIteration:
            if part == 1:
                yield table  # an empty table still gets its sheet
            return
        title = table.title if part == 1 else f"{table.title} ({part})"
        yield Table(title, table.headers, chain([first], islice(rows, max_rows - 2)))
        part += 1


def write_xlsx(target: str | Path | IO[bytes], tables: Sequence[Table],
               sample_size: int = 200, max_rows: int = EXCEL_MAX_ROWS,
               progress: Callable[[int], None] | None = None) -> list[int]:
    """Write tables as sheets of one workbook in write-only (streaming) mode.

    A table longer than a sheet continues on further sheets. Returns the number of data rows
    written per table; `progress(n)` is told every few thousand rows.
    """
    workbook = Workbook(write_only=True)
    counts = []
    for table in tables:
        rows = _Counter(table.rows, progress)
        for part in _sheet_parts(Table(table.title, table.headers, rows), max_rows):
            _write_sheet(workbook.create_sheet(part.title[:31]), part, sample_size)
        counts.append(rows.count)
    workbook.save(target)
    return counts
