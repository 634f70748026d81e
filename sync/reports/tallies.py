"""Tallies read from the running totals, and rankings within categories.

The totals (sync.reports.totals) already hold counts and score sums per (unit, item, level);
reading them costs units × items × levels rows however many ratings there are. Python then only
combines those rows into 满意率, 100-point scores, weighted overall scores and ranks. Scores are
kept as exact fractions so that ties are real ties, not float accidents.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Campaign, QuestionnaireItem, ScaleLevel, Unit
from .filters import TallyFilter
from .totals import answer_counts, respondent_counts


@dataclass
class UnitItemTally:
    """Counts per level for one unit and item."""

    unit_id: int
    unit_code: str
    unit_name: str
    item_key: str
    item_label: str
    counts: dict[str, int] = field(default_factory=dict)  # level label -> count
    total: int = 0
    satisfied: int = 0
    score_sum: int = 0
    weight: int = 1

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率 = (满意 + 基本满意) ÷ all answers."""
        return self.satisfied / self.total if self.total else None

    @property
    def exact_score(self) -> Fraction | None:
        return Fraction(self.score_sum, self.total) if self.total else None

    @property
    def score(self) -> float | None:
        """The mean of level scores, out of 100."""
        return self.score_sum / self.total if self.total else None


@dataclass
class PreviousResult:
    """How the unit with the same code fared in the earlier campaign."""

    campaign_id: int
    score: float | None
    rank: int | None
    bottom: bool


@dataclass
class UnitResult:
    """One unit's line in the rankings: overall score, rank in its category, flags."""

    unit_id: int
    code: str
    name: str
    category_id: int
    category_name: str
    respondents: int = 0
    items: list[UnitItemTally] = field(default_factory=list)
    rank: int | None = None
    #: among the bottom N of its category (ties at the boundary share the flag)
    bottom: bool = False
    previous: PreviousResult | None = None
    #: how many units of its category were ranked (the "共 N" of "第 r 名 / 共 N")
    ranked_in_category: int = 0
    #: fewer ratings than the campaign's small-sample threshold: read its score with care
    small_sample: bool = False

    @property
    def answers(self) -> int:
        return sum(t.total for t in self.items)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率 over all the unit's answers, every item counted alike."""
        total = self.answers
        return sum(t.satisfied for t in self.items) / total if total else None

    @cached_property
    def exact_score(self) -> Fraction | None:
        """Mean of item scores weighted by item weight, over the items that were rated.

        Cached: read only once the unit's tallies are complete (campaign_tally sees to that).
        """
        rated = [t for t in self.items if t.total and t.weight > 0]
        weights = sum(t.weight for t in rated)
        if not weights:
            return None
        return sum((t.weight * t.exact_score for t in rated if t.exact_score is not None),
                   Fraction(0)) / weights

    @property
    def score(self) -> float | None:
        exact = self.exact_score
        return None if exact is None else float(exact)

    @property
    def bottom_twice(self) -> bool:
        """At the bottom this round and the round before (seed 001: 连续二年排名后两位 → 通报)."""
        return self.bottom and self.previous is not None and self.previous.bottom


@dataclass
class CategoryResult:
    id: int
    name: str
    units: list[UnitResult] = field(default_factory=list)


@dataclass
class ItemInfo:
    key: str
    label: str
    weight: int


@dataclass
class CampaignTally:
    """Everything the results pages, exports and API show about a campaign's ratings."""

    campaign_id: int
    title: str
    bottom_n: int
    filter: TallyFilter
    items: list[ItemInfo]
    #: level labels in scale order, the columns of count tables
    levels: list[str]
    categories: list[CategoryResult]
    previous_campaign_id: int | None = None
    previous_title: str | None = None
    #: the campaign's small-sample threshold (ratings per unit)
    min_ratings: int = 0

    def units(self) -> Iterator[UnitResult]:
        for category in self.categories:
            yield from category.units

    def unit(self, unit_id: int) -> UnitResult | None:
        return next((u for u in self.units() if u.unit_id == unit_id), None)

    @property
    def respondents(self) -> int:
        return sum(u.respondents for u in self.units())

    def restricted(self, unit_ids: Collection[int] | None) -> CampaignTally:
        """Only the given units (a secretary's); ranks stay those computed over all units."""
        if unit_ids is None:
            return self
        categories = [replace(c, units=[u for u in c.units if u.unit_id in unit_ids])
                      for c in self.categories]
        return replace(self, categories=[c for c in categories if c.units])

    def level_distribution(self) -> list[tuple[str, list[tuple[str, int]]]]:
        """Per item: (level label, count) summed over the units shown."""
        out = []
        for index, item in enumerate(self.items):
            counts = dict.fromkeys(self.levels, 0)
            for unit in self.units():
                for label, n in unit.items[index].counts.items():
                    counts[label] = counts.get(label, 0) + n
            out.append((item.label, [(label, n) for label, n in counts.items()]))
        return out


def rank_category(units: list[UnitResult], bottom_n: int, min_ratings: int = 0) -> None:
    """Rank units by score, best first; equal scores share a rank; flag the bottom N.

    A unit is in the bottom N when fewer than N rated units of its category score below it, so
    units tied at the boundary are all flagged. Units without ratings are neither ranked nor
    flagged, and the mark needs at least 2·N rated units in the category, so it never covers
    more than half of it: being last of two or three says little about an office.
    """
    rated = [(u.exact_score, u) for u in units if u.exact_score is not None]
    scores = sorted(score for score, _ in rated)
    for score, unit in rated:
        worse = bisect_left(scores, score)
        better = len(scores) - bisect_right(scores, score)
        unit.rank = better + 1
        unit.ranked_in_category = len(rated)
        unit.bottom = bottom_n > 0 and len(rated) >= 2 * bottom_n and worse < bottom_n
        unit.small_sample = unit.respondents < min_ratings
    units.sort(key=lambda u: (u.rank is None, u.rank or 0, u.code))


def campaign_tally(session: Session, campaign: Campaign,
                   tally_filter: TallyFilter | None = None,
                   compare: bool = True) -> CampaignTally:
    """Tally, score and rank every unit of the campaign; compare with the previous campaign.

    The comparison always uses the earlier campaign's unfiltered results, matched by unit code.
    """
    tally_filter = tally_filter or TallyFilter()
    # Running totals, not a scan: they count only what counted() admits.
    grouped = answer_counts(session, campaign.id, tally_filter)
    respondents = respondent_counts(session, campaign.id, tally_filter)

    items = list(campaign.questionnaire.items)
    key_by_id = {item.id: item.key for item in items}
    extra_items = {row.item_id for row in grouped} - key_by_id.keys()
    if extra_items:
        # Answers to an earlier questionnaire version count under the item with the same key;
        # an item the new version dropped keeps a column of its own.
        current_keys = set(key_by_id.values())
        for old in session.scalars(select(QuestionnaireItem)
                                   .where(QuestionnaireItem.id.in_(extra_items))
                                   .order_by(QuestionnaireItem.position)):
            key_by_id[old.id] = old.key
            if old.key not in current_keys:
                items.append(old)
                current_keys.add(old.key)
    levels = {lv.id: lv for item in items for lv in item.scale.levels}
    extra_levels = {row.level_id for row in grouped} - levels.keys()
    if extra_levels:
        levels.update({lv.id: lv for lv in session.scalars(
            select(ScaleLevel).where(ScaleLevel.id.in_(extra_levels)))})
    level_labels = list(dict.fromkeys(
        lv.label for lv in sorted(levels.values(), key=lambda lv: (lv.position, lv.id))))

    units = session.scalars(select(Unit).where(Unit.campaign_id == campaign.id,
                                               Unit.archived_at.is_(None))
                            .order_by(Unit.code)).all()
    active_ids = {unit.id for unit in units}
    categories = [CategoryResult(c.id, c.name) for c in campaign.categories]
    by_category = {c.id: c for c in categories}
    cells: dict[tuple[int, str], UnitItemTally] = {}
    for unit in units:
        category = by_category[unit.category_id]
        result = UnitResult(unit.id, unit.code, unit.name, category.id, category.name,
                            respondents=respondents.get(unit.id, 0))
        for item in items:
            cell = UnitItemTally(unit.id, unit.code, unit.name, item.key, item.label,
                                 counts={lv.label: 0 for lv in item.scale.levels},
                                 weight=item.weight)
            cells[(unit.id, item.key)] = cell
            result.items.append(cell)
        category.units.append(result)
    for row in grouped:
        if row.unit_id not in active_ids:  # archived: its ratings stay, it takes no rank
            continue
        cell = cells[(row.unit_id, key_by_id[row.item_id])]
        level = levels[row.level_id]
        cell.counts[level.label] = cell.counts.get(level.label, 0) + row.n
        cell.total += row.n
        cell.score_sum += int(row.score_sum or 0)
        if level.counts_satisfied:
            cell.satisfied += row.n

    archived = {c.id for c in campaign.categories if c.archived_at is not None}
    categories = [c for c in categories if c.units or c.id not in archived]
    for category in categories:
        rank_category(category.units, campaign.bottom_n, campaign.min_ratings)

    tally = CampaignTally(
        campaign.id, campaign.title, campaign.bottom_n, tally_filter,
        [ItemInfo(i.key, i.label, i.weight) for i in items], level_labels, categories,
        min_ratings=campaign.min_ratings)
    if compare and campaign.previous_campaign_id:
        _attach_previous(session, tally, campaign.previous_campaign_id)
    return tally


def _attach_previous(session: Session, tally: CampaignTally, previous_id: int) -> None:
    previous_campaign = session.get(Campaign, previous_id)
    if previous_campaign is None:
        return
    earlier = campaign_tally(session, previous_campaign, compare=False)
    by_code = {u.code: u for u in earlier.units()}
    tally.previous_campaign_id = previous_campaign.id
    tally.previous_title = previous_campaign.title
    for unit in tally.units():
        match = by_code.get(unit.code)
        if match is not None:
            unit.previous = PreviousResult(previous_campaign.id, match.score, match.rank,
                                           match.bottom)


def unit_item_tallies(session: Session, campaign: Campaign,
                      tally_filter: TallyFilter | None = None) -> list[UnitItemTally]:
    """One tally per unit and item of the campaign, zero-filled for units without ratings."""
    tally = campaign_tally(session, campaign, tally_filter, compare=False)
    return [cell for unit in sorted(tally.units(), key=lambda u: u.code) for cell in unit.items]
