"""CSV writer: streamed in chunks, every text cell guarded against formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

from .table import RowCounter, Table, neutralise


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
        yield from table.csv_pages
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
    counted = RowCounter(table.rows, progress)
    with path.open("w", encoding="utf-8", newline="") as fh:
        for chunk in csv_chunks(Table(table.title, table.headers, counted)):
            fh.write(chunk)
    return counted.count
