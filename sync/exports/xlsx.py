"""XLSX writer: write-only (streaming) workbooks, text as text cells (never formulas), sheets
split at Excel's row limit."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from itertools import chain, islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .table import RowCounter, Table

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

#: rows an Excel sheet holds (2007 and later); one is the header row
EXCEL_MAX_ROWS = 1_048_576

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="07C160")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)


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
    written per table; `progress(n)` is told every few thousand rows. `target` may be any
    writable binary stream, seekable or not (zipfile then writes data descriptors).
    """
    workbook = Workbook(write_only=True)
    counts = []
    try:
        for table in tables:
            rows = RowCounter(table.rows, progress)
            for part in _sheet_parts(Table(table.title, table.headers, rows), max_rows):
                _write_sheet(workbook.create_sheet(part.title[:31]), part, sample_size)
            counts.append(rows.count)
        workbook.save(target)
    except BaseException:
        _discard_sheets(workbook)
        raise
    return counts


def _discard_sheets(workbook: Workbook) -> None:
    """Close and delete the temporary files of a workbook that will not be saved: openpyxl
    spools each write-only sheet to one and only deletes it once the sheet is saved (or when
    the process exits), and they may hold phone numbers."""
    for sheet in workbook.worksheets:
        writer = sheet._writer
        if writer is None:
            continue
        for stream in (sheet._rows, writer.xf):  # rows first: they write into the sheet's file
            if stream is not None:
                with suppress(Exception):
                    stream.close()
        with suppress(OSError, ValueError):  # saved sheets are deleted already
            writer.cleanup()
