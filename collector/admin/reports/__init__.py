"""Results, dashboard, exports and the tallies API of a campaign, for admins and secretaries.

A unit secretary sees only the units assigned to them, on every page, export and API answer: a
campaign without any of their units is 404, another unit of a campaign they work on is 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from sync.charts import BANDS
from sync.exports.csv import csv_chunks
from sync.exports.responses import responses_table
from sync.exports.table import Table
from sync.exports.tables import rankings_table, tallies_table
from sync.integrity.signals import LABELS as SIGNAL_LABELS
from sync.integrity.signals import campaign_signals, excluded_by_unit, review_list
from sync.models import Campaign, Channel, Unit
from sync.reports import FilterError, TallyFilter, campaign_activity, campaign_tally, parse_filter
from sync.versions import unit_history

from ...audit import audit
from ...auth import can_access_unit, current_user, login_required
from ...errors import render_error
from ...extensions import db
from . import present

bp = Blueprint("reports", __name__)

EXPORT_TABLES = ("responses", "tallies", "rankings")
#: table=all: the three tables as sheets of one workbook (as `collector export --format xlsx`)
WORKBOOK = "all"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.errorhandler(FilterError)
def _bad_filter(exc: FilterError):  # type: ignore[no-untyped-def]
    return render_error(400, exc.message)


@bp.context_processor
def _formatters() -> dict[str, Any]:
    return {"points": present.points, "percent": present.percent, "beijing": present.beijing,
            "rank_text": present.rank_text, "score_band": present.score_band,
            "bands": BANDS,
            "channel_label": present.channel_label, "channels": list(Channel),
            "viewer": current_user()}


def api_login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Like login_required, but answer 401 JSON instead of redirecting to the login page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return render_error(401, "请先登录管理后台。")
        return view(*args, **kwargs)

    return wrapped


def _campaign_scope(campaign_id: int) -> tuple[Campaign, set[int] | None]:
    """Load a campaign and the unit ids the user may see (None = all).

    :raise 404: no such campaign, or a secretary with no unit in it.
    """
    user = current_user()
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or user is None:
        abort(404)
    if user.is_admin:
        return campaign, None
    visible = {u.id for u in user.units if u.campaign_id == campaign.id}
    if not visible:
        abort(404)
    return campaign, visible


def _request_filter(campaign: Campaign) -> TallyFilter:
    """The filter in the query string (channel, identity, from, to); FilterError → 400."""
    args = request.args
    return parse_filter(args.getlist("channel"), args.getlist("identity"),
                        args.get("from", ""), args.get("to", ""),
                        [c.key for c in campaign.questionnaire.identities])


def _page_context(campaign: Campaign, tally_filter: TallyFilter) -> dict[str, Any]:
    return {"campaign": campaign, "filter": tally_filter,
            "filter_params": tally_filter.to_params(),
            "identities": campaign.questionnaire.identities}


@bp.get("/admin/campaigns/<int:campaign_id>/results")
@login_required
def results(campaign_id: int):  # type: ignore[no-untyped-def]
    """Scores, ranks within category, bottom-N and comparison marks, with charts."""
    campaign, visible = _campaign_scope(campaign_id)
    tally_filter = _request_filter(campaign)
    tally = campaign_tally(db.session, campaign, tally_filter).restricted(visible)
    review = None
    if visible is None:  # admins: fraud signals and exclusions, never shown to the units
        review = {"signals": campaign_signals(db.session, campaign),
                  "excluded": excluded_by_unit(db.session, campaign)}
    return render_template("admin/reports/results.html", tally=tally, review=review,
                           signal_labels=SIGNAL_LABELS,
                           category_charts=present.category_charts(tally),
                           levels_chart=present.levels_chart(tally),
                           **_page_context(campaign, tally_filter))


@bp.get("/admin/campaigns/<int:campaign_id>/units/<int:unit_id>")
@login_required
def unit_detail(campaign_id: int, unit_id: int):  # type: ignore[no-untyped-def]
    """One unit's tallies per item, level distribution, ratings per day and comments.

    :raise 404: unknown unit, or a unit of another campaign.
    :raise 403: a secretary asking for a unit not assigned to them.
    """
    campaign, _ = _campaign_scope(campaign_id)
    unit = db.session.get(Unit, unit_id)
    if unit is None or unit.campaign_id != campaign.id:
        abort(404)
    if not can_access_unit(current_user(), unit):  # type: ignore[arg-type]
        abort(403)
    tally_filter = _request_filter(campaign)
    tally = campaign_tally(db.session, campaign, tally_filter).restricted({unit.id})
    activity = campaign_activity(db.session, campaign, tally_filter, {unit.id}, comments=50)
    user = current_user()
    review = review_list(db.session, campaign, unit.id) if user and user.is_admin else None
    history = unit_history(db.session, unit.id) if user and user.is_admin else []
    return render_template("admin/reports/unit.html", tally=tally, result=tally.unit(unit.id),
                           review=review, history=history,
                           activity=activity, levels_chart=present.levels_chart(tally),
                           per_day_chart=present.per_day_chart(activity),
                           **_page_context(campaign, tally_filter))


@bp.get("/admin/campaigns/<int:campaign_id>/dashboard")
@login_required
def dashboard(campaign_id: int):  # type: ignore[no-untyped-def]
    """Live view: ratings so far, per channel, per day, latest comments; refreshes itself."""
    campaign, visible = _campaign_scope(campaign_id)
    tally_filter = _request_filter(campaign)
    tally = campaign_tally(db.session, campaign, tally_filter, compare=False).restricted(visible)
    activity = campaign_activity(db.session, campaign, tally_filter, visible)
    return render_template("admin/reports/dashboard.html", tally=tally, activity=activity,
                           levels_chart=present.levels_chart(tally),
                           per_day_chart=present.per_day_chart(activity),
                           api_url=url_for("reports.api_tallies", campaign_id=campaign.id,
                                           **tally_filter.to_params()),
                           **_page_context(campaign, tally_filter))


@bp.get("/api/v1/admin/campaigns/<int:campaign_id>/tallies")
@api_login_required
def api_tallies(campaign_id: int):  # type: ignore[no-untyped-def]
    """JSON: tallies, ranks, activity and chart SVGs (the dashboard polls this)."""
    campaign, visible = _campaign_scope(campaign_id)
    tally_filter = _request_filter(campaign)
    tally = campaign_tally(db.session, campaign, tally_filter).restricted(visible)
    activity = campaign_activity(db.session, campaign, tally_filter, visible)
    return jsonify(present.tally_json(tally, activity))


@bp.get("/admin/campaigns/<int:campaign_id>/export.csv")
@login_required
def export(campaign_id: int):  # type: ignore[no-untyped-def]
    """Stream responses, tallies or rankings as CSV (Excel files are jobs: export_jobs.py).

    :raise 400: unknown table (or `all`, the workbook, as CSV).
    """
    campaign, visible = _campaign_scope(campaign_id)
    table_name = request.args.get("table", "responses")
    if table_name not in EXPORT_TABLES:
        return render_error(400, "导出内容只能是 responses（评议结果）、tallies（分项统计）"
                                 "或 rankings（排名）；all（整个工作簿）仅限 Excel。")
    tally_filter = _request_filter(campaign)
    if table_name == "responses":
        # Fraud signals are for admins: a unit must not learn how its raters are screened.
        table = responses_table(db.session, campaign, tally_filter, visible,
                                with_signals=visible is None)
    else:
        tally = campaign_tally(db.session, campaign, tally_filter).restricted(visible)
        table = (tallies_table if table_name == "tallies" else rankings_table)(tally)
    audit("export.download", "campaign", campaign.id, campaign_id=campaign.id,
          after={"table": table_name, "format": "csv", "filter": tally_filter.to_params(),
                 "units": sorted(visible) if visible is not None else "all"})
    db.session.commit()
    return send_csv(table, f"campaign-{campaign.id}-{table_name}.csv")


def send_csv(table: Table, filename: str) -> Response:
    """Stream a table as CSV: the header at once, then the rows as they are read (Excel files
    are background jobs: export_jobs.py)."""
    return Response(stream_with_context(csv_chunks(table)),
                    mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


from . import export_jobs  # noqa: E402,F401  (routes on this blueprint)
