"""Excluding a rating from tallies and counting it again (admins only), from the unit page."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from sync.db import write_transaction
from sync.integrity.exclusions import ExclusionError, exclude_response, include_response
from sync.models import Response

from ..auth import admin_required, current_user
from ..errors import render_error
from ..extensions import db
from . import bp


def _change(response_id: int, change, done: str):  # type: ignore[no-untyped-def]
    actor = current_user()
    try:
        # One write transaction (BEGIN IMMEDIATE on SQLite): the change and its audit row
        # land together, and a concurrent click waits instead of failing on a lock upgrade.
        with write_transaction(db.session):
            response = db.session.get(Response, response_id)
            if response is None:
                abort(404)
            change(db.session, response, reason=request.form.get("reason", ""), actor=actor,
                   ip=request.remote_addr)
    except ExclusionError as exc:
        return render_error(422, str(exc))
    flash(done)
    return redirect(url_for("reports.unit_detail", campaign_id=response.campaign_id,
                            unit_id=response.unit_id, _anchor="signals"))


@bp.post("/responses/<int:response_id>/exclude")
@admin_required
def exclude(response_id: int):  # type: ignore[no-untyped-def]
    """Stop counting a rating; it stays stored and exported, marked, with the reason."""
    return _change(response_id, exclude_response, "已剔除该评议结果，不再计入统计。")


@bp.post("/responses/<int:response_id>/include")
@admin_required
def include(response_id: int):  # type: ignore[no-untyped-def]
    """Count an excluded rating again."""
    return _change(response_id, include_response, "已恢复计入该评议结果。")
