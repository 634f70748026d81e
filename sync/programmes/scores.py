"""A campaign's scores under its programme: per method, composite, deductions, grades, ranks.

Ratings-based methods take their scores from sync.reports (the tallies the results pages show,
filtered to the method's channels); imported methods from their sheet. Every score is an exact
fraction until it is shown, so ties are real ties.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Campaign, Channel, Unit
from ..reports import TallyFilter, campaign_tally
from .deductions import SourceTotal, capped_totals
from .models import SOURCE_RATINGS, MethodScore
from .programme import ProgrammeSpec, programme_spec

OVERALL = "overall"


class NoProgramme(LookupError):
    """The campaign has no scoring programme yet."""


@dataclass
class MethodResult:
    score: Fraction
    rank: int | None = None
    bottom: bool = False


@dataclass
class UnitScore:
    unit_id: int
    code: str
    name: str
    category: str
    methods: dict[str, MethodResult] = field(default_factory=dict)
    #: methods of the programme this unit has no score for (said on the page)
    missing: list[str] = field(default_factory=list)
    before_deductions: Fraction | None = None
    deductions: list[SourceTotal] = field(default_factory=list)
    rank: int | None = None
    grade: str | None = None
    top: bool = False
    #: method keys (and "overall") where the unit is among the bottom N of its category
    bottom: list[str] = field(default_factory=list)
    #: the same, also at the bottom in the previous campaign (seed 001: 连续二年 → 通报)
    bottom_twice: list[str] = field(default_factory=list)

    @property
    def deducted(self) -> Fraction:
        return sum((d.counted for d in self.deductions), Fraction(0))

    @property
    def score(self) -> Fraction | None:
        if self.before_deductions is None:
            return None
        return self.before_deductions - self.deducted

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.code, "name": self.name, "category": self.category,
            "methods": {k: {"score": float(m.score), "rank": m.rank}
                        for k, m in self.methods.items()},
            "missing_methods": self.missing,
            "before_deductions": _float(self.before_deductions),
            "deductions": float(self.deducted),
            "score": _float(self.score),
            "rank": self.rank, "grade": self.grade, "top": self.top,
            "bottom": self.bottom, "bottom_twice": self.bottom_twice,
        }


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


@dataclass
class CampaignScores:
    campaign_id: int
    title: str
    spec: ProgrammeSpec
    #: (category name, units best first)
    categories: list[tuple[str, list[UnitScore]]]
    previous_title: str | None = None

    def units(self) -> list[UnitScore]:
        return [u for _, units in self.categories for u in units]

    def to_json(self) -> list[dict[str, Any]]:
        return [u.to_json() for u in self.units()]


def rank(scores: dict[int, Fraction], bottom_n: int,
         top_n: int = 0) -> dict[int, tuple[int, bool, bool]]:
    """(rank, bottom, top) per id: best first, ties share a rank and a flag.

    The same rule as the tallies (sync.reports.rank_category): a unit is in the bottom N when
    fewer than N scored units rank below it, and a group of no more than N flags nobody.
    """
    ordered = sorted(scores.values())
    out = {}
    for key, score in scores.items():
        worse = bisect_left(ordered, score)
        better = len(ordered) - bisect_right(ordered, score)
        out[key] = (better + 1, len(ordered) > bottom_n and worse < bottom_n, better < top_n)
    return out


def method_scores(session: Session, campaign: Campaign,
                  spec: ProgrammeSpec) -> dict[str, dict[int, Fraction]]:
    """{method key: {unit id: score out of 100}} for units that have a score."""
    out: dict[str, dict[int, Fraction]] = {}
    for method in spec.methods:
        if method.source == SOURCE_RATINGS:
            tally = campaign_tally(session, campaign, TallyFilter(
                channels=frozenset(Channel(c) for c in method.channels)), compare=False)
            out[method.key] = {u.unit_id: u.exact_score for u in tally.units()
                               if u.exact_score is not None}
        else:
            out[method.key] = {unit_id: Fraction(score) for unit_id, score in session.execute(
                select(MethodScore.unit_id, MethodScore.score).where(
                    MethodScore.campaign_id == campaign.id,
                    MethodScore.method_key == method.key))}
    return out


def _grade(spec: ProgrammeSpec, score: Fraction | None) -> str | None:
    if score is None:
        return None
    for label, low in spec.grades:
        if low is None or score >= Fraction(low):
            return label
    return None


def campaign_scores(session: Session, campaign: Campaign, compare: bool = True) -> CampaignScores:
    """Score, grade and rank every unit under the campaign's programme.

    :raise NoProgramme: the campaign has no programme.
    """
    spec = programme_spec(session, campaign)
    if spec is None:
        raise NoProgramme(campaign.id)
    by_method = method_scores(session, campaign, spec)
    weights = {m.key: Fraction(m.weight) for m in spec.methods}
    deductions = capped_totals(session, campaign, spec.deduction_caps)
    units = session.scalars(select(Unit).where(Unit.campaign_id == campaign.id)
                            .order_by(Unit.code)).all()
    categories = [(c.id, c.name) for c in campaign.categories]
    names = dict(categories)
    grouped: dict[int, list[UnitScore]] = {cid: [] for cid, _ in categories}
    for unit in units:
        result = UnitScore(unit.id, unit.code, unit.name, names[unit.category_id],
                           deductions=deductions.get(unit.id, []))
        for method in spec.methods:
            score = by_method[method.key].get(unit.id)
            if score is None:
                result.missing.append(method.key)
            else:
                result.methods[method.key] = MethodResult(score)
        weighted = [(weights[k], m.score) for k, m in result.methods.items() if weights[k] > 0]
        total_weight = sum(w for w, _ in weighted)
        if total_weight:
            result.before_deductions = sum((w * s for w, s in weighted), Fraction(0)) / total_weight
        result.grade = _grade(spec, result.score)
        grouped[unit.category_id].append(result)

    for members in grouped.values():
        for method in spec.methods:
            ranked = rank({u.unit_id: u.methods[method.key].score for u in members
                           if method.key in u.methods}, spec.bottom_n)
            for u in members:
                if u.unit_id in ranked:
                    u.methods[method.key].rank, u.methods[method.key].bottom, _ = ranked[u.unit_id]
                    if u.methods[method.key].bottom:
                        u.bottom.append(method.key)
        overall = rank({u.unit_id: u.score for u in members if u.score is not None},
                       spec.bottom_n, spec.top_n)
        for u in members:
            if u.unit_id in overall:
                u.rank, is_bottom, u.top = overall[u.unit_id]
                if is_bottom:
                    u.bottom.append(OVERALL)
        members.sort(key=lambda u: (u.rank is None, u.rank or 0, u.code))

    scores = CampaignScores(campaign.id, campaign.title, spec,
                            [(name, grouped[cid]) for cid, name in categories])
    if compare and campaign.previous_campaign_id:
        _mark_twice(session, scores, campaign.previous_campaign_id)
    return scores


def _mark_twice(session: Session, scores: CampaignScores, previous_id: int) -> None:
    """Mark flags held in the previous campaign too, matching units by code and methods by key."""
    previous = session.get(Campaign, previous_id)
    if previous is None:
        return
    try:
        earlier = campaign_scores(session, previous, compare=False)
    except NoProgramme:
        return
    scores.previous_title = previous.title
    before = {u.code: set(u.bottom) for u in earlier.units()}
    for unit in scores.units():
        unit.bottom_twice = [k for k in unit.bottom if k in before.get(unit.code, set())]
