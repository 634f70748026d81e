"""Server-side SVG charts: well-formed, escaped, scaled to the data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from sync.charts import BANDS, ScoreBar, level_distribution, ratings_per_day, score_bars

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on malformed markup
    assert root.tag == f"{NS}svg"
    assert root.get("width") == "100%" and root.get("viewBox").startswith("0 0 400 ")
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text")]


def test_score_bars_scale_colour_and_escape():
    root = parse(score_bars("政府<类>", [
        ScoreBar("1. 局<script>", 100.0), ScoreBar('2. 办" onmouseover="x', 50.0, mark="后2位"),
        ScoreBar("没有评议", None)]))
    assert root.find(f"{NS}title").text == "政府<类>"  # parsed back: it was escaped
    labels = texts(root)
    assert "1. 局<script>" in labels and '2. 办" onmouseover="x' in labels
    assert "暂无评议" in labels and "100" in labels and "50" in labels and "后2位" in labels
    # colour by score band (优秀 ≥ 90, 较差 < 60), the mark is text of its own
    bars = [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    assert [(r.get("fill"), float(r.get("width"))) for r in bars] == [(BANDS[0].colour, 344.0),
                                                                      (BANDS[-1].colour, 172.0)]


def test_level_distribution_shares_add_up_per_item():
    root = parse(level_distribution("分布", [
        ("工作效率", [("满意", 3), ("基本满意", 1), ("不满意", 0)]),
        ("服务态度", [("满意", 0), ("基本满意", 0), ("不满意", 0)])]))
    labels = texts(root)
    assert "工作效率（4 份）" in labels and "75%" in labels and "25%" in labels
    assert "暂无评议" in labels  # 服务态度 has no answers
    segments = [float(r.get("width")) for r in root.iter(f"{NS}rect")
                if r.find(f"{NS}title") is not None]
    assert sum(segments) == 400.0


def test_ratings_per_day_fills_gaps_with_zero_days():
    root = parse(ratings_per_day("每日", [(date(2024, 5, 1), 4), (date(2024, 5, 4), 2)]))
    columns = [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    assert [c.find(f"{NS}title").text for c in columns] == [
        "2024-05-01：4 份", "2024-05-02：0 份", "2024-05-03：0 份", "2024-05-04：2 份"]
    assert "单日最多 4 份，共 6 份" in texts(root)
    assert "05-01" in texts(root) and "05-04" in texts(root)


def test_ratings_per_day_keeps_date_labels_few_on_long_campaigns():
    days = [(date(2024, 1, 1).fromordinal(date(2024, 1, 1).toordinal() + i), i % 5)
            for i in range(120)]
    labels = [t for t in texts(parse(ratings_per_day("每日", days))) if "-" in t and "份" not in t]
    assert 2 <= len(labels) <= 7


def test_empty_charts_say_so():
    assert "暂无评议" in texts(parse(ratings_per_day("每日", [])))
    assert "暂无评议对象" in texts(parse(score_bars("空", [])))


def test_ratings_per_day_stays_small_whatever_a_phone_clock_says():
    """One rating dated a century back must not grow the chart to tens of thousands of bars."""
    days = [(date(1926, 1, 1), 1)] + [(date(2026, 11, d), 3) for d in range(1, 25)]
    svg = ratings_per_day("每日", days)
    root = parse(svg)
    columns = [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    assert len(columns) == 92  # MAX_CHART_DAYS, ending on the last day with ratings
    assert columns[-1].find(f"{NS}title").text == "2026-11-24：3 份"
    assert "单日最多 3 份，共 73 份（其中 1 份早于 2026-08-25，未画出）" in texts(root)
    assert len(svg) < 40_000
