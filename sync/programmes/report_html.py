"""The campaign report as one self-contained, printable HTML page (inline CSS and SVG charts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ..charts import ScoreBar, score_bars
from .report import ReportData

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def points(value: Any) -> str:
    """Scores are exact until shown; shown with two decimals."""
    return "—" if value is None else f"{float(value):.2f}"


_env.filters["points"] = points


def composite_chart(category: str, units: list[Any]) -> Markup:
    bars = [ScoreBar(u.name, None if u.score is None else float(u.score), "overall" in u.bottom)
            for u in units]
    return Markup(score_bars(f"{category} 综合得分", bars))  # noqa: S704 - escaped by sync.charts


def report_html(data: ReportData, nonce: str | None = None) -> str:
    """Render the report; every value is escaped by Jinja, the charts by sync.charts.

    `nonce` marks the inline stylesheet for a page served under a Content-Security-Policy.
    """
    return _env.get_template("report.html").render(data=data, spec=data.scores.spec,
                                                   chart=composite_chart, nonce=nonce)
