"""Import units from an Excel (.xlsx) or CSV sheet with columns 类别 / 单位代码 / 单位名称.

Every row is checked before anything is written: one bad row refuses the whole sheet, with a
Chinese message per row, so a campaign is never left half-imported.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .campaigns import add_units
from .models import Campaign, Unit

HEADERS = ("类别", "单位代码", "单位名称")
MAX_ROWS = 5000
# Column widths of the store (sync.models): longer values would fail on PostgreSQL.
MAX_CATEGORY, MAX_CODE, MAX_NAME = 100, 20, 200


#: what a unit code may contain: it appears in URLs and file names
UNIT_CODE_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class UnitRow:
    line: int
    category: str
    code: str
    name: str


class SheetError(ValueError):
    """The sheet was refused; `errors` lists one Chinese message per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("；".join(errors))
        self.errors = errors


def read_sheet(filename: str, data: bytes) -> list[list[str]]:
    """Return the sheet's rows as lists of stripped strings.

    :raise SheetError: not an .xlsx or .csv file, or unreadable.
    """
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        return _read_xlsx(data)
    if lower.endswith(".csv"):
        return _read_csv(data)
    raise SheetError(["请上传 .xlsx 或 .csv 文件（旧版 .xls 请先在 Excel 中另存为 .xlsx）。"])


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a numeric code such as 101 arrives as 101.0
    return str(value).strip()


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged upload may fail anywhere inside openpyxl
        raise SheetError(["无法读取该 Excel 文件，请确认文件未损坏且为 .xlsx 格式。"]) from exc
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    except Exception as exc:  # noqa: BLE001 - broken XML inside the zip surfaces while reading
        raise SheetError(["无法读取该 Excel 文件，请确认文件未损坏且为 .xlsx 格式。"]) from exc
    finally:
        workbook.close()


def _read_csv(data: bytes) -> list[list[str]]:
    # Excel on Chinese Windows saves CSV as GBK; UTF-8 (with or without BOM) elsewhere.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetError(["无法识别 CSV 文件的编码，请另存为 UTF-8 或 .xlsx 格式。"])
    if "\x00" in text:  # PostgreSQL text cannot hold NUL; such a file is not a real CSV
        raise SheetError(["CSV 文件含有空字符，请用 Excel 重新另存为 CSV 或 .xlsx 格式。"])
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise SheetError([f"CSV 文件格式有误：{exc}"]) from exc


def parse_unit_rows(rows: list[list[str]], campaign: Campaign) -> list[UnitRow]:
    """Check every row against the header and the campaign's existing codes.

    :raise SheetError: with one message per bad row; nothing is returned half-checked.
    """
    rows = list(rows)
    while rows and not any(rows[0]):
        rows.pop(0)
    if not rows:
        raise SheetError(["文件是空的，请按“类别、单位代码、单位名称”三列填写。"])
    header = [h.strip() for h in rows[0]]
    try:
        columns = [header.index(h) for h in HEADERS]
    except ValueError:
        found = "、".join(h for h in header if h)
        raise SheetError([f"第1行应为表头“{'、'.join(HEADERS)}”，实际为“{found}”。"]) from None
    if len(rows) - 1 > MAX_ROWS:
        raise SheetError([f"单位过多（{len(rows) - 1} 行），一次最多导入 {MAX_ROWS} 行。"])

    existing = {u.code for u in campaign.units}
    seen: dict[str, int] = {}
    errors: list[str] = []
    parsed: list[UnitRow] = []
    for line, row in enumerate(rows[1:], start=2):
        cells = [row[i] if i < len(row) else "" for i in columns]
        if not any(cells):
            continue  # blank lines between groups are common in hand-made sheets
        category, code, name = cells
        problems = []
        for value, label, limit in ((category, "类别", MAX_CATEGORY), (code, "单位代码", MAX_CODE),
                                    (name, "单位名称", MAX_NAME)):
            if not value:
                problems.append(f"{label}不能为空")
            elif len(value) > limit:
                problems.append(f"{label}超过 {limit} 个字")
        if code and not UNIT_CODE_RE.fullmatch(code):
            problems.append(f"单位代码“{code}”只能用字母、数字、下划线和短横线")
        if code and code in existing:
            problems.append(f"单位代码“{code}”在本活动中已存在")
        elif code and code in seen:
            problems.append(f"单位代码“{code}”与第{seen[code]}行重复")
        if problems:
            errors.append(f"第{line}行：{'；'.join(problems)}。")
            continue
        seen[code] = line
        parsed.append(UnitRow(line, category, code, name))
    if errors:
        raise SheetError(errors)
    if not parsed:
        raise SheetError(["表头下没有任何单位。"])
    return parsed


def import_units(session: Session, campaign: Campaign, filename: str, data: bytes) -> list[Unit]:
    """Add every unit of the sheet, creating categories as needed; all or nothing.

    :raise SheetError: the file or any row is invalid (nothing is added).
    """
    rows = parse_unit_rows(read_sheet(filename, data), campaign)
    grouped: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        grouped.setdefault(row.category, []).append((row.code, row.name))
    return add_units(session, campaign, grouped)

