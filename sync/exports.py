"""Export tables as (headers, rows), and CSV/XLSX writers that stream and stop formula injection.

Tables are plain (headers, rows) pairs; rows may be a generator so a million responses never sit
in memory. CSV prefixes text a spreadsheet would run as a formula with an apostrophe (OWASP's
advice for CSV); XLSX writes every text as an explicit text cell, which is never a formula.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Sequence
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
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .integrity.signals import SignalReport, campaign_signals
from .models import CHANNEL_LABELS, Campaign, Response, ScaleLevel
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
    if isinstance(value, str) and (value.startswith(FORMULA_PREFIXES)
                                   or value.lstrip().startswith(_AFTER_BLANKS)):
        return "'" + value
    return value


def _time(moment: datetime | None) -> str:
    return local_time(moment).strftime(TIME_FORMAT) if moment else ""


def _percent(rate: float | None) -> float | str:
    return "" if rate is None else round(rate * 100, 2)


def _points(score: float | None) -> float | str:
    return "" if score is None else round(score, 2)


def responses_table(session: Session, campaign: Campaign,
                    tally_filter: TallyFilter | None = None,
                    unit_ids: Collection[int] | None = None,
                    with_signals: bool = True) -> Table:
    """One row per stored response, one column per item (the level label); streamed.

    Excluded ratings stay in the file, marked, with the reason; fraud signals (for admins)
    explain themselves in 风险提示.
    """
    items = campaign.questionnaire.items
    identities = {c.key: c.label for c in campaign.questionnaire.identities}
    headers = ["编号", "评议活动", "单位代码", "单位名称", "评议方式", "走访",
               "提交时间(北京时间)", "接收时间(北京时间)",
               *[i.label for i in items], "评议人员身份", "意见建议", "标记",
               "已剔除", "剔除原因", *(["风险提示"] if with_signals else [])]
    signals = campaign_signals(session, campaign, unit_ids) if with_signals else None
    level_labels = dict(session.execute(select(ScaleLevel.id, ScaleLevel.label)).all())
    # Answers to earlier questionnaire versions find their column by item key.
    key_by_item = item_keys(session, campaign)
    stmt = (select(Response)
            .where(Response.campaign_id == campaign.id,
                   *(tally_filter or TallyFilter()).conditions())
            .order_by(Response.created_at, Response.id)
            .options(selectinload(Response.answers), selectinload(Response.unit),
                     selectinload(Response.visit))
            .execution_options(yield_per=1000))
    if unit_ids is not None:
        stmt = stmt.where(Response.unit_id.in_(sorted(unit_ids)))

    def rows() -> Iterator[Row]:
        for r in session.scalars(stmt):
            by_key = {key_by_item.get(a.item_id): level_labels.get(a.level_id, "")
                      for a in r.answers}
            yield [
                r.uuid, campaign.title, r.unit.code, r.unit.name, CHANNEL_LABELS[r.channel],
                r.visit.place if r.visit else "", _time(r.created_at), _time(r.received_at),
                *[by_key.get(i.key, "") for i in items],
                identities.get(r.identity_key or "", r.identity_key or ""), r.comment or "",
                ",".join(r.flags or []),
                "是" if r.excluded_at else "", r.exclusion_reason or "",
                *([_signals_text(signals, r.id)] if signals is not None else []),
            ]

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


def write_csv(path: Path, table: Table) -> int:
    """Write a CSV file; return the number of data rows."""
    counted = _Counter(table.rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        for chunk in csv_chunks(Table(table.title, table.headers, counted)):
            fh.write(chunk)
    return counted.count


class _Counter:
    """Iterate rows while counting them."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Row]:
        for row in self.rows:
            self.count += 1
            yield row


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


def write_xlsx(target: str | Path | IO[bytes], tables: Sequence[Table],
               sample_size: int = 200) -> list[int]:
    """Write tables as sheets of one workbook in write-only (streaming) mode.

    Returns the number of data rows written per table.
    """
    workbook = Workbook(write_only=True)
    counts = [_write_sheet(workbook.create_sheet(table.title[:31]), table, sample_size)
              for table in tables]
    workbook.save(target)
    return counts
