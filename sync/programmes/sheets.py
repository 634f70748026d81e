"""Import imported-method scores and deductions from sheets; every row checked first.

One bad row (unknown unit code, a score out of range, a deduction source the programme does not
list…) refuses the whole sheet with a message naming the row, so nothing is half-imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import Campaign, Unit
from ..unit_sheet import SheetError, read_sheet
from .models import SOURCE_IMPORT, Deduction, MethodScore, ProgrammeMethod
from .programme import get_programme

SCORE_HEADERS = ("单位代码", "得分")
DEDUCTION_HEADERS = ("单位代码", "来源", "分值", "事由", "日期")
OPTIONAL_DEDUCTION_HEADERS = ("证据",)
MAX_ROWS = 5000


def _body(rows: list[list[str]], headers: Sequence[str],
          optional: Sequence[str] = ()) -> list[tuple[int, dict[str, str]]]:
    """(line number, {header: cell}) for every non-blank row under the header row."""
    rows = list(rows)
    while rows and not any(rows[0]):
        rows.pop(0)
    if not rows:
        raise SheetError([f"文件是空的，请按“{'、'.join(headers)}”填写。"])
    header = [h.strip() for h in rows[0]]
    missing = [h for h in headers if h not in header]
    if missing:
        raise SheetError([f"第1行表头缺少“{'、'.join(missing)}”，应为“{'、'.join(headers)}”。"])
    if len(rows) - 1 > MAX_ROWS:
        raise SheetError([f"行数过多（{len(rows) - 1} 行），一次最多导入 {MAX_ROWS} 行。"])
    columns = {h: header.index(h) for h in (*headers, *optional) if h in header}
    out = []
    for line, row in enumerate(rows[1:], start=2):
        cells = {h: (row[i] if i < len(row) else "") for h, i in columns.items()}
        if any(cells.values()):
            out.append((line, cells))
    if not out:
        raise SheetError(["表头下没有任何数据。"])
    return out


def _number(text: str, low: Decimal, high: Decimal | None) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < low or (high is not None and value > high):
        return None
    return value


def _units_by_code(session: Session, campaign: Campaign) -> dict[str, Unit]:
    return {u.code: u for u in session.scalars(select(Unit).where(Unit.campaign_id == campaign.id))}


def import_method_scores(session: Session, campaign: Campaign, method_key: str, filename: str,
                         data: bytes) -> int:
    """Replace an imported method's scores with the sheet's; return how many units.

    :raise SheetError: unknown or non-import method, bad file, or any bad row.
    """
    method = session.scalar(select(ProgrammeMethod).where(
        ProgrammeMethod.campaign_id == campaign.id, ProgrammeMethod.key == method_key))
    if method is None:
        raise SheetError([f"评议方案中没有测评方式“{method_key}”。"])
    if method.source != SOURCE_IMPORT:
        raise SheetError([f"测评方式“{method.name}”的得分来自评议数据，不能导入。"])
    units = _units_by_code(session, campaign)
    errors: list[str] = []
    scores: dict[int, Decimal] = {}
    seen: dict[str, int] = {}
    for line, cells in _body(read_sheet(filename, data), SCORE_HEADERS):
        code, text = cells["单位代码"], cells["得分"]
        unit = units.get(code)
        score = _number(text, Decimal(0), Decimal(100))
        if unit is None:
            errors.append(f"第{line}行：单位代码“{code}”不在本活动中。")
        elif code in seen:
            errors.append(f"第{line}行：单位代码“{code}”与第{seen[code]}行重复。")
        elif score is None:
            errors.append(f"第{line}行：得分“{text}”必须是 0 到 100 之间的数字。")
        else:
            seen[code] = line
            scores[unit.id] = score
    if errors:
        raise SheetError(errors)
    session.execute(delete(MethodScore).where(MethodScore.campaign_id == campaign.id,
                                              MethodScore.method_key == method_key))
    session.add_all(MethodScore(campaign_id=campaign.id, method_key=method_key, unit_id=unit_id,
                                score=score) for unit_id, score in scores.items())
    session.flush()
    return len(scores)


def method_scores_by_code(session: Session, campaign: Campaign,
                          method_key: str) -> dict[str, str]:
    """An imported method's stored scores by unit code (as text, for the audit log)."""
    rows = session.execute(
        select(Unit.code, MethodScore.score).join(Unit, Unit.id == MethodScore.unit_id)
        .where(MethodScore.campaign_id == campaign.id, MethodScore.method_key == method_key)
        .order_by(Unit.code))
    return {code: format(Decimal(score).normalize(), "f") for code, score in rows}


def import_method_scores_audited(session: Session, campaign: Campaign, method_key: str,
                                 filename: str, data: bytes) -> tuple[dict, dict]:
    """`import_method_scores`, returning the audit row's (before, after): every unit's score.

    :raise SheetError: as import_method_scores.
    """
    before = method_scores_by_code(session, campaign, method_key)
    count = import_method_scores(session, campaign, method_key, filename, data)
    return ({"method": method_key, "scores": before},
            {"method": method_key, "units": count, "file": filename,
             "scores": method_scores_by_code(session, campaign, method_key)})


def _day(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def import_deductions(session: Session, campaign: Campaign, filename: str, data: bytes,
                      entered_by: str | None) -> list[Deduction]:
    """Add every deduction of the sheet (columns 单位代码, 来源, 分值, 事由, 日期[, 证据]).

    :raise SheetError: no programme, bad file, or any bad row (nothing is added).
    """
    programme = get_programme(session, campaign)
    if programme is None or not programme.deduction_caps:
        raise SheetError(["请先在评议方案中设置减分来源及上限（deduction_caps）。"])
    sources = programme.deduction_caps
    units = _units_by_code(session, campaign)
    errors: list[str] = []
    added: list[Deduction] = []
    rows = _body(read_sheet(filename, data), DEDUCTION_HEADERS, OPTIONAL_DEDUCTION_HEADERS)
    for line, cells in rows:
        problems = []
        unit = units.get(cells["单位代码"])
        if unit is None:
            problems.append(f"单位代码“{cells['单位代码']}”不在本活动中")
        if cells["来源"] not in sources:
            problems.append(f"来源“{cells['来源']}”不在评议方案的减分来源（{'、'.join(sources)}）中")
        points = _number(cells["分值"], Decimal(0), Decimal(100))
        if points is None or points == 0:
            problems.append(f"分值“{cells['分值']}”必须是大于 0、不超过 100 的数字")
        if not cells["事由"]:
            problems.append("事由不能为空")
        day = _day(cells["日期"]) if cells["日期"] else None
        if cells["日期"] and day is None:
            problems.append(f"日期“{cells['日期']}”格式不正确，请按 2024-05-01 填写")
        if problems:
            errors.append(f"第{line}行：{'；'.join(problems)}。")
            continue
        assert unit is not None and points is not None
        added.append(Deduction(campaign_id=campaign.id, unit_id=unit.id, source=cells["来源"],
                               points=points, reason=cells["事由"],
                               evidence=cells.get("证据") or None, day=day,
                               entered_by=entered_by))
    if errors:
        raise SheetError(errors)
    session.add_all(added)
    session.flush()
    return added
