"""Charts drawn server-side as inline SVG strings: no script, no CDN, readable on a phone.

Each function takes plain values and returns one `<svg>` element. Every piece of text is
escaped here, so callers may embed the result as markup. The drawing is 400 units wide and
scales to its container (a phone's width, or at most 560 px on a desk).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

WIDTH = 400
FONT = 14
GREEN = "#07c160"
RED = "#fa5151"
GREY = "#d9d9d9"
INK = "#111"
MUTED = "#666"
#: colours for levels, best first; the last is always the worst level's red
LEVEL_COLOURS = ("#07c160", "#95de64", "#ffc300", "#ff8f1f", "#fa5151")


@dataclass(frozen=True)
class Band:
    """A grade band of 100-point scores: a bar's colour says the score, never the rank."""

    floor: float
    label: str
    colour: str


#: best first; text on these colours is never needed (numbers sit beside the bar)
BANDS = (Band(90, "优秀", "#057a3d"), Band(80, "良好", "#3d8f5a"),
         Band(60, "一般", "#c77c00"), Band(0, "较差", "#c92a2a"))


def band(score: float) -> Band:
    return next(b for b in BANDS if score >= b.floor)


@dataclass(frozen=True)
class ScoreBar:
    """One unit's bar: label, score out of 100 (None = no ratings); `mark` is shown as text
    after the score (e.g. 后2位), the colour comes from the score's band."""

    label: str
    score: float | None
    mark: str = ""


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg(height: float, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:g}" '
            f'width="100%" class="chart" role="img" '
            f'aria-label="{_text(title)}" font-size="{FONT}"><title>{_text(title)}</title>'
            + "".join(body) + "</svg>")


def _label(x: float, y: float, text: object, anchor: str = "start", fill: str = INK,
           size: int = FONT) -> str:
    return (f'<text x="{x:g}" y="{y:g}" text-anchor="{anchor}" fill="{fill}" '
            f'font-size="{size}">{_text(text)}</text>')


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str | None = None) -> str:
    tooltip = f"<title>{_text(tip)}</title>" if tip else ""
    return (f'<rect x="{x:g}" y="{y:g}" width="{max(w, 0):.2f}" height="{h:g}" '
            f'fill="{fill}">{tooltip}</rect>')


def score_bars(title: str, bars: Sequence[ScoreBar]) -> str:
    """Horizontal bars of 100-point scores, one per unit, the name above its bar."""
    row, track = 42, WIDTH - 56
    body = []
    for index, bar in enumerate(bars):
        y = 4 + index * row
        body.append(_label(0, y + FONT, bar.label))
        body.append(_rect(0, y + 20, track, 14, "#f2f2f2"))
        if bar.score is None:
            body.append(_label(WIDTH, y + 32, "暂无评议", "end", MUTED, 12))
            continue
        grade = band(bar.score)
        body.append(_rect(0, y + 20, track * bar.score / 100, 14, grade.colour,
                          f"{bar.label}：{_number(bar.score)} 分（{grade.label}）"))
        body.append(_label(WIDTH, y + 32, _number(bar.score), "end"))
        if bar.mark:
            body.append(_label(WIDTH, y + FONT, bar.mark, "end", RED, 12))
    if not bars:
        body.append(_label(0, 20, "暂无评议对象", fill=MUTED))
    return _svg(max(len(bars) * row + 8, 30), title, body)


def _level_colours(count: int) -> list[str]:
    if count <= 1:
        return [GREEN][:count]
    if count == 3:
        return [LEVEL_COLOURS[0], LEVEL_COLOURS[2], LEVEL_COLOURS[4]]
    palette = list(LEVEL_COLOURS[: count - 1]) + [LEVEL_COLOURS[-1]]
    return (palette + [GREY] * count)[:count]


def level_distribution(title: str, rows: Sequence[tuple[str, Sequence[tuple[str, int]]]]) -> str:
    """A 100 % stacked bar per item showing the share of each level, with a legend on top."""
    levels = [label for label, _ in rows[0][1]] if rows else []
    colours = dict(zip(levels, _level_colours(len(levels)), strict=True))
    body, x = [], 0.0
    for label in levels:  # legend
        body.append(_rect(x, 4, 12, 12, colours[label]))
        body.append(_label(x + 16, 15, label, size=12))
        x += 16 + len(label) * 12 + 14
    row, top = 44, 26
    for index, (item, counts) in enumerate(rows):
        y = top + index * row
        total = sum(n for _, n in counts)
        body.append(_label(0, y + FONT, f"{item}（{total} 份）" if total else item))
        if not total:
            body.append(_rect(0, y + 20, WIDTH, 18, "#f2f2f2"))
            body.append(_label(WIDTH / 2, y + 34, "暂无评议", "middle", MUTED, 12))
            continue
        x = 0.0
        for label, n in counts:
            width = WIDTH * n / total
            share = 100 * n / total
            body.append(_rect(x, y + 20, width, 18, colours.get(label, GREY),
                              f"{item} · {label}：{n} 份（{_number(share)}%）"))
            if width >= 36:
                body.append(_label(x + width / 2, y + 34, f"{share:.0f}%", "middle", "#fff", 12))
            x += width
    return _svg(top + len(rows) * row + 4, title, body)


#: The per-day chart shows at most this many days, ending on the last day with ratings. A phone's
#: clock is evidence, not authority: one rating dated decades back must not grow the chart to
#: thousands of bars on every dashboard poll.
MAX_CHART_DAYS = 92


def ratings_per_day(title: str, days: Sequence[tuple[date, int]]) -> str:
    """Columns of ratings per day up to the last day with ratings (gaps are 0), at most
    MAX_CHART_DAYS of them; earlier ratings are counted in the caption."""
    if not days:
        return _svg(30, title, [_label(0, 20, "暂无评议", fill=MUTED)])
    all_counts = dict(days)
    last = max(all_counts)
    first = max(min(all_counts), last - timedelta(days=MAX_CHART_DAYS - 1))
    counts = {d: n for d, n in all_counts.items() if d >= first}
    earlier = sum(all_counts.values()) - sum(counts.values())
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    peak = max(counts.values())
    top, bottom, height = 40, 168, 190  # room for the caption above the tallest bar's number
    slot = min(WIDTH / len(span), 40.0)  # a few days do not make fat bars
    caption = f"单日最多 {peak} 份，共 {sum(all_counts.values())} 份"
    if earlier:
        caption += f"（其中 {earlier} 份早于 {first.strftime('%Y-%m-%d')}，未画出）"
    body = [_label(0, 14, caption, fill=MUTED, size=12),
            f'<line x1="0" y1="{bottom}" x2="{WIDTH}" y2="{bottom}" stroke="{GREY}"/>']
    step = max(1, -(-len(span) // 6))  # at most about six date labels
    for index, day in enumerate(span):
        n = counts.get(day, 0)
        bar = (bottom - top) * n / peak
        x = index * slot
        body.append(_rect(x + slot * 0.15, bottom - bar, slot * 0.7, bar, GREEN,
                          f"{day.isoformat()}：{n} 份"))
        if len(span) <= 14 and n:
            body.append(_label(x + slot / 2, bottom - bar - 4, n, "middle", size=12))
        is_last = index == len(span) - 1
        if is_last or (index % step == 0 and len(span) - 1 - index >= step / 2):
            anchor = "start" if index == 0 else ("end" if is_last else "middle")
            at = x if anchor == "start" else (x + slot if anchor == "end" else x + slot / 2)
            body.append(_label(at, height - 4, day.strftime("%m-%d"), anchor, MUTED, 12))
    return _svg(height, title, body)
