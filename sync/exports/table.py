"""The export Table type and the CSV formula guard.

Tables are plain (headers, rows) pairs; rows may be a generator so a million responses never sit
in memory. CSV prefixes text a spreadsheet would run as a formula with an apostrophe (OWASP's
advice for CSV); XLSX writes every text as an explicit text cell, which is never a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

#: what makes Excel, LibreOffice or Sheets treat a cell as a formula (OWASP CSV injection)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: prefixes that still trigger after leading blanks, and the array-formula form {=…}
AFTER_BLANKS = ("=", "+", "-", "@", "{=")

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

Row = Sequence[Any]


@dataclass
class Table:
    """One sheet or file: a title, headers and (possibly streamed) rows.

    `csv_pages`, when set, is the same stream as `rows` already written as CSV text (no
    header), a page at a time with its number of rows, every text cell neutralised: the CSV
    writer sends it as it is. Read one or the other, never both.
    """

    title: str
    headers: list[str]
    rows: Iterable[Row]
    csv_pages: Iterable[tuple[str, int]] | None = None


def neutralise(value: Any) -> Any:
    """Stop spreadsheet formula injection: quoting does not, a leading apostrophe does."""
    if isinstance(value, str) and value and not value[0].isalnum() and (
            value.startswith(FORMULA_PREFIXES) or value.lstrip().startswith(AFTER_BLANKS)):
        return "'" + value
    return value


class RowCounter:
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


class PageCounter:
    """Iterate CSV pages (text, rows) while counting their rows, telling `progress` per page."""

    def __init__(self, pages: Iterable[tuple[str, int]],
                 progress: Callable[[int], None] | None = None) -> None:
        self.pages = pages
        self.count = 0
        self.progress = progress

    def __iter__(self) -> Iterator[tuple[str, int]]:
        for text, rows in self.pages:
            self.count += rows
            if self.progress:
                self.progress(rows)
            yield text, rows
