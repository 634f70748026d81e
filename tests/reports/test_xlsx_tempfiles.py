"""A workbook that fails while it is written leaves none of openpyxl's temporary sheet files
(which may hold phone numbers) behind."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator

import pytest

from sync.exports.table import Table
from sync.exports.xlsx import write_xlsx

PHONE = "13912345678"


class Broken(RuntimeError):
    pass


def _rows(count: int, fail_at: int | None = None) -> Iterator[list[object]]:
    for n in range(count):
        if n == fail_at:
            raise Broken("lease lost")
        yield [n, PHONE]


class FailingSink(io.RawIOBase):
    """A stream whose first write breaks (the store went away as the zip began); later
    writes (zipfile closing the archive when it is collected) are ignored."""

    failed = False

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def]
        if not self.failed:
            self.failed = True
            raise Broken("store unreachable")
        return len(data)


@pytest.fixture
def spool(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """openpyxl's temporary files go to this test's folder, so they can be counted."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("failure", ["rows", "save"])
def test_a_failed_workbook_leaves_no_temporary_files(spool, failure):
    done = Table("评议结果", ["n", "phone"], _rows(3000))
    if failure == "rows":  # the second sheet breaks off half-way
        tables, target = [done, Table("整改台账", ["n", "phone"], _rows(6000, 4000))], io.BytesIO()
    else:  # every sheet is written, the zip cannot be stored
        tables, target = [done, Table("整改台账", ["n", "phone"], _rows(10))], FailingSink()
    with pytest.raises(Broken):
        write_xlsx(target, tables)
    assert list(spool.iterdir()) == []


def test_a_saved_workbook_leaves_no_temporary_files(spool):
    write_xlsx(io.BytesIO(), [Table("评议结果", ["n", "phone"], _rows(10))])
    assert list(spool.iterdir()) == []
