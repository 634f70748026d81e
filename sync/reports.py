"""Tallies computed in SQL: counts per level, 满意率 and 100-point scores per unit and item."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Answer, Campaign, QuestionnaireItem, Response, ScaleLevel, Unit


@dataclass
class UnitItemTally:
    unit_id: int
    unit_code: str
    unit_name: str
    item_key: str
    item_label: str
    counts: dict[str, int] = field(default_factory=dict)  # level label -> count
    total: int = 0
    satisfied: int = 0
    score_sum: int = 0

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率 = (满意 + 基本满意) ÷ all answers."""
        return self.satisfied / self.total if self.total else None

    @property
    def score(self) -> float | None:
        """The mean of level scores, out of 100."""
        return self.score_sum / self.total if self.total else None


def unit_item_tallies(session: Session, campaign: Campaign) -> list[UnitItemTally]:
    """One tally per unit and item of the campaign, zero-filled for units without ratings."""
    grouped = session.execute(
        select(Response.unit_id, Answer.item_id, Answer.level_id,
               func.count().label("n"), func.sum(Answer.score).label("score_sum"))
        .join(Answer, Answer.response_id == Response.id)
        .where(Response.campaign_id == campaign.id)
        .group_by(Response.unit_id, Answer.item_id, Answer.level_id)
    ).all()
    items = campaign.questionnaire.items
    levels = {lv.id: lv for item in items for lv in item.scale.levels}
    extra_levels = {row.level_id for row in grouped} - levels.keys()
    if extra_levels:  # answers to an earlier questionnaire version
        levels.update({lv.id: lv for lv in session.scalars(
            select(ScaleLevel).where(ScaleLevel.id.in_(extra_levels)))})
    item_by_id = {item.id: item for item in items}
    extra_items = {row.item_id for row in grouped} - item_by_id.keys()
    if extra_items:
        item_by_id.update({i.id: i for i in session.scalars(
            select(QuestionnaireItem).where(QuestionnaireItem.id.in_(extra_items)))})

    units = session.scalars(select(Unit).where(Unit.campaign_id == campaign.id)
                            .order_by(Unit.code)).all()
    tallies: dict[tuple[int, int], UnitItemTally] = {}
    for unit in units:
        for item in items:
            tallies[(unit.id, item.id)] = UnitItemTally(
                unit.id, unit.code, unit.name, item.key, item.label,
                counts={lv.label: 0 for lv in item.scale.levels})
    unit_by_id = {u.id: u for u in units}
    for row in grouped:
        key = (row.unit_id, row.item_id)
        if key not in tallies:
            unit, item = unit_by_id[row.unit_id], item_by_id[row.item_id]
            tallies[key] = UnitItemTally(unit.id, unit.code, unit.name, item.key, item.label)
        tally = tallies[key]
        level = levels[row.level_id]
        tally.counts[level.label] = tally.counts.get(level.label, 0) + row.n
        tally.total += row.n
        tally.score_sum += int(row.score_sum or 0)
        if level.counts_satisfied:
            tally.satisfied += row.n
    return list(tallies.values())
