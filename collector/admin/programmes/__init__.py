"""Scoring programme pages (评议方案): methods and scores, deductions, sample pool, push, report.

Admins only: deductions and the sample pool are not a unit secretary's business. Routes stay
thin; the work is done by sync.programmes, sync.pool and sync.push.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..campaigns import campaign_or_404

bp = Blueprint("programmes", __name__)

__all__ = ["bp", "campaign_or_404", "points"]


def points(value: Any) -> str:
    """A score as shown: two decimals (scores are exact until shown)."""
    return "—" if value is None else f"{float(value):.2f}"


@bp.app_template_filter("points2")
def _points_filter(value: Any) -> str:
    return points(value)


from . import pool, push, report, scores  # noqa: E402,F401  (routes on bp)
