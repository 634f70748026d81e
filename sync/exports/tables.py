"""The tallies and rankings tables: one row per unit and item, one row per unit."""

from __future__ import annotations

from ..reports import CampaignTally
from .table import Table


def _percent(rate: float | None) -> float | str:
    return "" if rate is None else round(rate * 100, 2)


def _points(score: float | None) -> float | str:
    return "" if score is None else round(score, 2)


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
