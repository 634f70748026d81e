"""Export tables as (headers, rows), and a CSV writer Excel opens correctly."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .models import CHANNEL_LABELS, Campaign, Response, ScaleLevel
from .reports import unit_item_tallies

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Stop spreadsheet formula injection: quoting does not, a leading apostrophe does."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def responses_table(session: Session, campaign: Campaign) -> tuple[list[str], Iterator[list]]:
    """One row per stored response, one column per item (the level label)."""
    items = campaign.questionnaire.items
    identities = {c.key: c.label for c in campaign.questionnaire.identities}
    headers = ["编号", "评议活动", "单位代码", "单位名称", "评议方式", "走访", "提交时间",
               "接收时间",
               *[i.label for i in items], "评议人员身份", "意见建议", "标记"]
    level_labels = dict(session.execute(select(ScaleLevel.id, ScaleLevel.label)).all())

    def rows() -> Iterator[list]:
        stmt = (select(Response).where(Response.campaign_id == campaign.id)
                .order_by(Response.created_at, Response.id)
                .options(selectinload(Response.answers), selectinload(Response.unit),
                         selectinload(Response.visit))
                .execution_options(yield_per=1000))
        for r in session.scalars(stmt):
            by_item = {a.item_id: level_labels.get(a.level_id, "") for a in r.answers}
            yield [
                r.uuid, campaign.title, r.unit.code, r.unit.name, CHANNEL_LABELS[r.channel],
                r.visit.place if r.visit else "", r.created_at.isoformat(),
                r.received_at.isoformat(), *[by_item.get(i.id, "") for i in items],
                identities.get(r.identity_key or "", r.identity_key or ""), r.comment or "",
                ",".join(r.flags or []),
            ]

    return headers, rows()


def tallies_table(session: Session, campaign: Campaign) -> tuple[list[str], list[list]]:
    """One row per unit and item: counts per level, 满意率 and 100-point score."""
    level_labels = [lv.label for lv in campaign.questionnaire.items[0].scale.levels] \
        if campaign.questionnaire.items else []
    headers = ["单位代码", "单位名称", "评议内容", *level_labels, "合计", "满意率(%)", "得分"]
    rows = []
    for t in unit_item_tallies(session, campaign):
        rate = t.satisfaction_rate
        rows.append([t.unit_code, t.unit_name, t.item_label,
                     *[t.counts.get(label, 0) for label in level_labels], t.total,
                     "" if rate is None else round(rate * 100, 2),
                     "" if t.score is None else round(t.score, 2)])
    return headers, rows


def write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write UTF-8 with BOM (so Excel reads Chinese) with formula prefixes neutralised."""
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([neutralise(v) for v in row])
            count += 1
    return count


