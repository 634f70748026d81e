"""Turn tallies and activity into what pages show (charts, numbers) and what the API returns."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from sync.charts import Band, ScoreBar, band, level_distribution, ratings_per_day, score_bars
from sync.models import CHANNEL_LABELS, Channel
from sync.reports import Activity, CampaignTally, UnitResult, local_time


def points(score: float | None) -> str:
    """A 100-point score for display: two decimals at most, a dash when there is none."""
    return "—" if score is None else f"{score:.2f}".rstrip("0").rstrip(".")


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"


def beijing(moment: Any) -> str:
    return local_time(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def rank_text(unit: UnitResult) -> str:
    """"第 4 名 / 共 12": the rank means nothing without the size of the category."""
    return f"第 {unit.rank} 名 / 共 {unit.ranked_in_category}" if unit.rank else "未排名"


def _bar_label(unit: UnitResult) -> str:
    return f"{unit.name}（{rank_text(unit)}）" if unit.rank else unit.name


def bottom_tag(tally: CampaignTally) -> str:
    return f"后{tally.bottom_n}位"


def category_charts(tally: CampaignTally) -> list[tuple[str, Markup]]:
    """Score bars per unit within each category, coloured by score band; marks as text."""
    return [(category.name, Markup(score_bars(  # noqa: S704 - sync.charts escapes all text
        f"{category.name}综合得分",
        [ScoreBar(_bar_label(u), u.score, bottom_tag(tally) if u.bottom else "")
         for u in category.units])))
        for category in tally.categories]


def score_band(score: float | None) -> Band | None:
    return None if score is None else band(score)


def levels_chart(tally: CampaignTally, title: str = "各评议内容档次分布") -> Markup:
    return Markup(level_distribution(title, tally.level_distribution()))  # noqa: S704


def per_day_chart(activity: Activity, title: str = "每日评议份数") -> Markup:
    return Markup(ratings_per_day(title, activity.by_day))  # noqa: S704


def channel_label(channel: Channel) -> str:
    return CHANNEL_LABELS[Channel(channel)]


def _unit_json(unit: UnitResult) -> dict[str, Any]:
    previous = unit.previous
    return {
        "id": unit.unit_id, "code": unit.code, "name": unit.name,
        "respondents": unit.respondents, "score": unit.score,
        "satisfaction_rate": unit.satisfaction_rate, "rank": unit.rank, "bottom": unit.bottom,
        "ranked_in_category": unit.ranked_in_category, "small_sample": unit.small_sample,
        "bottom_twice": unit.bottom_twice,
        "previous": None if previous is None else {
            "campaign_id": previous.campaign_id, "score": previous.score,
            "rank": previous.rank, "bottom": previous.bottom},
        "items": [{"key": cell.item_key, "label": cell.item_label, "counts": cell.counts,
                   "total": cell.total, "satisfaction_rate": cell.satisfaction_rate,
                   "score": cell.score} for cell in unit.items],
    }


def tally_json(tally: CampaignTally, activity: Activity) -> dict[str, Any]:
    """The API's view of a campaign's results and activity, charts included for the dashboard."""
    return {
        "campaign": {"id": tally.campaign_id, "title": tally.title, "bottom_n": tally.bottom_n,
                     "min_ratings": tally.min_ratings,
                     "previous_campaign_id": tally.previous_campaign_id},
        "filter": tally.filter.to_params(),
        "levels": tally.levels,
        "items": [{"key": i.key, "label": i.label, "weight": i.weight} for i in tally.items],
        "summary": {
            "responses": activity.total,
            "by_channel": [{"key": c.value, "label": c.label, "count": n}
                           for c, n in activity.by_channel],
            "by_day": [{"date": d.isoformat(), "count": n} for d, n in activity.by_day],
        },
        "categories": [{"id": c.id, "name": c.name, "units": [_unit_json(u) for u in c.units]}
                       for c in tally.categories],
        "latest_comments": [{"unit_code": c.unit_code, "unit_name": c.unit_name,
                             "channel": channel_label(c.channel),
                             "created_at": beijing(c.created_at), "comment": c.comment}
                            for c in activity.latest_comments],
        "charts": {"per_day": str(per_day_chart(activity)), "levels": str(levels_chart(tally))},
    }
