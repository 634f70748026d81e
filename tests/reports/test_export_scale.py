"""Exports at any size: keyset pages (ties on the timestamp included) and sheets split at
Excel's row limit."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from openpyxl import load_workbook
from sqlalchemy import event

from collector.extensions import db
from sync.exports.csv import csv_chunks, write_csv
from sync.exports.responses import responses_table
from sync.exports.table import Table
from sync.exports.xlsx import write_xlsx
from sync.merge import merge_batch

from .test_exports import assert_no_formulas


def test_keyset_pages_return_every_row_once_in_order(app, session, make_campaign, make_link,
                                                     make_item):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01", "ZF02"])
    same_moment = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    items = [make_item(token, unit="ZF01" if n % 2 else "ZF02",
                       # seven ratings share one timestamp: pages must split ties by id
                       created_at=same_moment if n < 7 else datetime.now(timezone.utc).isoformat(),
                       comment=f"第{n}条" if n % 3 == 0 else "")
             for n in range(23)]
    for n, item in enumerate(items):
        merge_batch(session, app.extensions["link_signer"],
                    {"device_id": f"p{n}", "responses": [item]})
    selects: list[str] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda conn, cur, stmt, *a: selects.append(stmt))
    table = responses_table(session, campaign, page_size=5)
    rows = list(table.rows)
    assert sorted(r[0] for r in rows) == sorted(i["id"] for i in items)
    assert len({r[0] for r in rows}) == 23
    assert [r[6] for r in rows] == sorted(r[6] for r in rows)
    pages = [s for s in selects if "FROM responses" in s and "LIMIT" in s]
    assert len(pages) == 6  # 5 full pages and an empty one
    assert all("responses.created_at, responses.id) >" in s for s in pages[1:])  # keyset
    assert {r[2] for r in rows} == {"ZF01", "ZF02"}
    assert all(r[8:13] == ["满意"] * 5 for r in rows)


def test_a_csv_file_is_written_from_the_stores_pages_with_progress(
        app, session, make_campaign, make_link, make_item, tmp_path):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    items = [make_item(token, comment="第一行\r\n第二行" if n == 2 else "") for n in range(7)]
    merge_batch(session, app.extensions["link_signer"], {"device_id": "p", "responses": items})
    progress: list[int] = []
    out = tmp_path / "r.csv"
    count = write_csv(out, responses_table(session, campaign, page_size=3, read_threads=1),
                      progress.append)
    # told per page of the store's CSV (a row count would report every 5,000 rows), rows
    # counted by page, not by line ends: one comment spans two lines
    assert count == 7 and progress == [3, 3, 1]
    expected = "".join(csv_chunks(responses_table(session, campaign)))
    assert out.read_bytes().decode() == expected


def test_a_table_longer_than_a_sheet_continues_on_the_next(tmp_path):
    rows = ([n, f"=cmd{n}"] for n in range(25))
    out = io.BytesIO()
    (count,) = write_xlsx(out, [Table("评议结果", ["序号", "意见"], rows)], max_rows=10)
    assert count == 25
    book = load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["评议结果", "评议结果 (2)", "评议结果 (3)"]
    data = [r for ws in book.worksheets for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [r[0] for r in data] == list(range(25))
    assert all(ws.max_row <= 10 for ws in book.worksheets)
    assert all(ws.cell(1, 1).value == "序号" for ws in book.worksheets)
    # the formula rule holds on every sheet: text cells as typed, no formula anywhere
    assert all(r[1] == f"=cmd{r[0]}" for r in data)
    assert assert_no_formulas(out.getvalue()) >= 25
