"""Scoring programme pages (评议方案): methods and scores, deductions, sample pool, push, report.

Admins only: deductions and the sample pool are not a unit secretary's business. Routes stay
thin; the work is done by sync.programmes, sync.pool and sync.push.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort

from sync.models import Campaign

from ...extensions import db

bp = Blueprint("programmes", __name__)


def campaign_or_404(campaign_id: int) -> Campaign:
    """:raise 404: no such campaign."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def points(value: Any) -> str:
    """A score as shown: two decimals (scores are exact until shown)."""
    return "—" if value is None else f"{float(value):.2f}"


@bp.app_template_filter("points2")
def _points_filter(value: Any) -> str:
    return points(value)


from . import pool, push, report, scores  # noqa: E402,F401  (routes on bp)
