"""CSV and XLSX exports: formula injection neutralised, zero formula cells, streaming, CLI."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from sync.exports.csv import csv_chunks
from sync.exports.table import Table, neutralise
from sync.exports.xlsx import write_xlsx
from sync.models import Role

from .conftest import Rating

#: OWASP CSV-injection payloads, and one with a control character XLSX cannot hold
PAYLOADS = ["=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3", "{=1+1}", "=HYPERLINK(\"x\")\x01"]


@pytest.fixture
def injected(session, make_campaign, rate, make_user, login):  # type: ignore[no-untyped-def]
    campaign = make_campaign(units={"政府工作部门": [("ZF01", "=1+1局"), ("ZF02", "人社局")],
                                    "中直单位": [("ZZ01", "@税务局")]})
    rate(campaign, [Rating("ZF01", "SSSSS", comment=p) for p in PAYLOADS]
         + [Rating("ZF02", "BBBBB", comment="正常意见"), Rating("ZZ01", "UUUUU")])
    login(make_user("boss", role=Role.ADMIN))
    return campaign


def assert_no_formulas(data: bytes) -> int:
    """No worksheet of the file holds a formula element (<f>) and every text is a text cell.

    Read from the file's XML itself: that is what Excel evaluates. Returns the cells checked.
    """
    checked = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode()
                assert not re.search(r"<f[ >/]", xml), name
                cells = re.findall(r"<c [^>]*?(?:/>|>.*?</c>)", xml)
                assert all(' t="inlineStr"' in c or "<v>" in c or c.endswith("/>")
                           for c in cells), name
                checked += len(cells)
    return checked


@pytest.mark.parametrize("table", ["responses", "tallies", "rankings"])
def test_xlsx_export_has_zero_formula_cells(client, injected, table, export_xlsx):
    reply = export_xlsx(injected, table)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert assert_no_formulas(reply.data) > 10
    workbook = load_workbook(io.BytesIO(reply.data))
    sheet = workbook.active
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold
    assert sheet.column_dimensions["A"].width >= 6
    if table == "responses":
        header, *body = sheet.iter_rows(values_only=True)
        comments = [row[header.index("意见建议")] for row in body]
        # text cells as the rater typed them, no visible apostrophe; the control char dropped
        for payload in PAYLOADS:
            assert payload.replace("\x01", "") in comments
    else:
        names = {row[2 if table == "tallies" else 3]
                 for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert {"=1+1局", "@税务局", "人社局"} <= names


def test_web_workbook_has_three_sheets_and_no_formulas(client, injected, export_xlsx):
    page = client.get(f"/admin/campaigns/{injected.id}/results").get_data(as_text=True)
    assert "export.xlsx?table=all" in page
    reply = export_xlsx(injected, "all")  # a background job, like every Excel file
    assert reply.status_code == 200
    assert assert_no_formulas(reply.data) > 50
    workbook = load_workbook(io.BytesIO(reply.data))
    assert workbook.sheetnames == ["评议结果", "分项统计", "排名"]
    header, *body = workbook["评议结果"].iter_rows(values_only=True)
    comments = {row[header.index("意见建议")] for row in body}
    assert {p.replace("\x01", "") for p in PAYLOADS} <= comments
    assert not any(str(c).startswith("'") for c in comments)
    assert workbook["排名"].max_row == 4 and workbook["分项统计"].max_row == 16
    assert client.get(f"/admin/campaigns/{injected.id}/export.csv?table=all").status_code == 400


def test_csv_export_neutralises_payloads(client, injected):
    reply = client.get(f"/admin/campaigns/{injected.id}/export.csv?table=responses")
    assert reply.status_code == 200
    assert reply.is_streamed
    body = reply.get_data(as_text=True)
    assert body.startswith("\ufeff")  # BOM: Excel reads UTF-8 Chinese
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:4] == ["编号", "评议活动", "单位代码", "单位名称"]
    comments = [r[rows[0].index("意见建议")] for r in rows[1:]]
    for payload in PAYLOADS:
        assert "'" + payload in comments
    for row in rows:
        for value in row:
            assert not value.lstrip().startswith(("=", "+", "-", "@", "{=")), value
    assert "'=1+1局" in {r[3] for r in rows[1:]}


def test_export_rejects_unknown_table_and_format(client, injected):
    reply = client.get(f"/admin/campaigns/{injected.id}/export.csv?table=users")
    assert reply.status_code == 400
    assert "rankings" in reply.get_data(as_text=True)
    assert client.get(f"/admin/campaigns/{injected.id}/export.pdf").status_code == 404
    # Excel files are background jobs started by a POST (with its CSRF token), never a GET
    assert client.get(f"/admin/campaigns/{injected.id}/export.xlsx").status_code == 405


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("  =1", "'  =1"), ("{=1+1}", "'{=1+1}"),
    ("满意", "满意"), ("a=b", "a=b"), (42, 42), (-3.5, -3.5), (None, None),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_csv_streams_in_chunks():
    rows = ([i, f"意见{i}"] for i in range(1200))
    chunks = list(csv_chunks(Table("t", ["序号", "意见"], rows), batch=500))
    assert len(chunks) == 4  # the header at once, then 500 + 500 + 200 rows
    assert chunks[0] == "\ufeff序号,意见\r\n"
    assert sum(c.count("\n") for c in chunks) == 1201


def test_xlsx_writer_streams_rows_from_a_generator(tmp_path):
    path = tmp_path / "big.xlsx"
    rows = ([i, "=cmd" if i % 2 else "正常"] for i in range(5000))
    assert write_xlsx(path, [Table("结果", ["序号", "内容"], rows)], sample_size=50) == [5000]
    book = load_workbook(path, read_only=True)
    values = list(book.active.iter_rows(min_row=2, values_only=True))
    book.close()  # read-only mode keeps the file open
    assert len(values) == 5000
    assert values[1] == (1, "=cmd")


def test_cli_export_xlsx_and_csv(runner, injected, tmp_path):
    out = tmp_path / "out" / "评议.xlsx"
    result = runner.invoke(args=["export", "--campaign", str(injected.id), "--format", "xlsx",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "8 responses" in result.output
    assert assert_no_formulas(out.read_bytes()) > 50
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["评议结果", "分项统计", "排名"]
    assert workbook["排名"].max_row == 4  # header + 3 units
    assert workbook["分项统计"].max_row == 16  # header + 3 units × 5 items

    out_csv = tmp_path / "评议.csv"
    result = runner.invoke(args=["export", "--campaign", str(injected.id), "--out", str(out_csv)])
    assert result.exit_code == 0, result.output
    for name in ("评议.csv", "评议-tallies.csv", "评议-rankings.csv"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert text.startswith("\ufeff")
        assert not any(v.startswith("=") for r in csv.reader(io.StringIO(text[1:])) for v in r)
