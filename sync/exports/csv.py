"""CSV writer: streamed in chunks, every text cell guarded against formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from .table import PageCounter, RowCounter, Table, neutralise


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
    if table.csv_pages is not None:
        for text, _rows in table.csv_pages:
            yield text
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
    """Write a CSV file (the store's own CSV pages when the table has them); return the
    number of data rows."""
    counter: PageCounter | RowCounter
    if table.csv_pages is not None:
        counter = PageCounter(table.csv_pages, progress)
        table = replace(table, csv_pages=counter)
    else:
        counter = RowCounter(table.rows, progress)
        table = replace(table, rows=counter)
    with path.open("w", encoding="utf-8", newline="") as fh:
        for chunk in csv_chunks(table):
            fh.write(chunk)
    return counter.count
