"""Export tables as (headers, rows), and CSV/XLSX writers that stream and stop formula injection.

Tables are plain (headers, rows) pairs; rows may be a generator so a million responses never sit
in memory. CSV prefixes text a spreadsheet would run as a formula with an apostrophe (OWASP's
advice for CSV); XLSX writes every text as an explicit text cell, which is never a formula.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from .integrity.signals import SignalReport, campaign_signals
from .models import CHANNEL_LABELS, Answer, Campaign, Response, ScaleLevel, Visit
from .questionnaires import item_keys
from .reports import CampaignTally, TallyFilter, local_time

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
    """One sheet or file: a title, headers and (possibly streamed) rows."""

    title: str
    headers: list[str]
    rows: Iterable[Row]


def neutralise(value: Any) -> Any:
    """Stop spreadsheet formula injection: quoting does not, a leading apostrophe does."""
    if isinstance(value, str) and value and not value[0].isalnum() and (
            value.startswith(FORMULA_PREFIXES) or value.lstrip().startswith(_AFTER_BLANKS)):
        return "'" + value
    return value


def _time(moment: datetime | None) -> str:
    """Beijing time as 2024-05-01 08:30:00 (isoformat is several times faster than strftime)."""
    return local_time(moment).isoformat(" ", "seconds")[:19] if moment else ""


def _percent(rate: float | None) -> float | str:
    return "" if rate is None else round(rate * 100, 2)


def _points(score: float | None) -> float | str:
    return "" if score is None else round(score, 2)


#: rows per keyset page of the responses export: each page is its own short query
PAGE_SIZE = 2000


def responses_table(session: Session, campaign: Campaign,
                    tally_filter: TallyFilter | None = None,
                    unit_ids: Collection[int] | None = None,
                    with_signals: bool = True, page_size: int = PAGE_SIZE) -> Table:
    """One row per stored response, one column per item (the level label); streamed.

    Excluded ratings stay in the file, marked, with the reason; fraud signals (for admins)
    explain themselves in 风险提示. Pages by keyset on (created_at, id) through
    ix_responses_campaign_created: no OFFSET, no cursor held open, and the read transaction
    ends between pages, so a million-row download neither loads everything nor pins the store.
    """
    items = campaign.questionnaire.items
    item_keys_in_order = [i.key for i in items]
    identities = {c.key: c.label for c in campaign.questionnaire.identities}
    headers = ["编号", "评议活动", "单位代码", "单位名称", "评议方式", "走访",
               "提交时间(北京时间)", "接收时间(北京时间)",
               *[i.label for i in items], "评议人员身份", "意见建议", "标记",
               "已剔除", "剔除原因", *(["风险提示"] if with_signals else [])]
    signals = campaign_signals(session, campaign, unit_ids) if with_signals else None
    level_labels = dict(session.execute(select(ScaleLevel.id, ScaleLevel.label)).all())
    # Answers to earlier questionnaire versions find their column by item key.
    key_by_item = item_keys(session, campaign)
    units = {u.id: (u.code, u.name) for u in campaign.units}
    places = dict(session.execute(select(Visit.id, Visit.place)
                                  .where(Visit.campaign_id == campaign.id)).all())
    where = [Response.campaign_id == campaign.id,
             *(tally_filter or TallyFilter()).conditions()]
    if unit_ids is not None:
        where.append(Response.unit_id.in_(sorted(unit_ids)))
    title = campaign.title
    channel_labels = {**CHANNEL_LABELS, **{c.value: label for c, label in CHANNEL_LABELS.items()}}
    page = (select(Response.id, Response.uuid, Response.unit_id, Response.channel,
                   Response.visit_id, Response.created_at, Response.received_at,
                   Response.identity_key, Response.comment, Response.flags,
                   Response.excluded_at, Response.exclusion_reason)
            .where(*where).order_by(Response.created_at, Response.id).limit(page_size))

    def rows() -> Iterator[Row]:
        after: tuple[datetime, int] | None = None
        while True:
            stmt = page if after is None else page.where(
                tuple_(Response.created_at, Response.id) > tuple_(*after))
            conn = session.connection()  # Core rows: no ORM bookkeeping per row
            found = conn.execute(stmt).all()
            if not found:
                break
            answers: dict[int, dict[str | None, str]] = {}
            for rid, item_id, level_id in conn.execute(
                    select(Answer.response_id, Answer.item_id, Answer.level_id)
                    .where(Answer.response_id.in_([r.id for r in found]))):
                answers.setdefault(rid, {})[key_by_item.get(item_id)] = \
                    level_labels.get(level_id, "")
            session.rollback()  # end the read transaction between pages
            for r in found:
                code, name = units.get(r.unit_id, ("", ""))
                by_key = answers.get(r.id, {})
                yield [
                    r.uuid, title, code, name, channel_labels[r.channel],
                    places.get(r.visit_id, ""), _time(r.created_at), _time(r.received_at),
                    *[by_key.get(key, "") for key in item_keys_in_order],
                    identities.get(r.identity_key or "", r.identity_key or ""),
                    r.comment or "", ",".join(r.flags or []),
                    "是" if r.excluded_at else "", r.exclusion_reason or "",
                    *([_signals_text(signals, r.id)] if signals is not None else []),
                ]
            last = found[-1]
            after = (last.created_at, last.id)

    return Table("评议结果", headers, rows())


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
    """Yield the table as CSV text in chunks: BOM first (so Excel reads UTF-8), then rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([neutralise(h) for h in table.headers])
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
