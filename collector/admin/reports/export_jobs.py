"""Excel exports as background jobs: start one, watch its progress, download the file.

The file is built by sync.exports.jobs.ExportRunner, a thread of this process started with the
first request (so CLI commands never run one); any process's runner may build any job, and the
file is kept in the database, so any host serves the download. Only the person who asked
(within the units they still see) or an admin may see a job; a file with phone numbers only
admins, and each download of it is audited.
"""

from __future__ import annotations

import math
import os
from datetime import timedelta
from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from sync.exports.files import is_expired, read_file
from sync.exports.jobs import ExportRunner, create_job, job_view
from sync.exports.models import ExportJob, JobStatus
from sync.models import Campaign, utcnow

from ...audit import audit
from ...auth import current_user, login_required
from ...errors import render_error
from ...extensions import db
from . import (
    EXPORT_TABLES,
    WORKBOOK,
    XLSX_MIMETYPE,
    _campaign_scope,
    _request_filter,
    api_login_required,
    bp,
)


def init_app(app: Flask) -> None:
    """Check the retention settings, and start this process's runner with its first request
    (EXPORT_RUNNER=0 in the environment leaves the jobs to other processes; tests run jobs
    themselves).

    :raise ValueError: a retention setting is not a positive number (the app does not start).
    """
    for name in RETENTION_SETTINGS:
        app.config[name] = _positive(name, app.config[name])
    app.config.setdefault("EXPORT_RUNNER", os.environ.get("EXPORT_RUNNER", "1") != "0"
                          and not app.config.get("TESTING"))
    if not app.config["EXPORT_RUNNER"]:
        return

    @app.before_request
    def _start_runner() -> None:
        if "export_runner" not in app.extensions:
            runner = ExportRunner(db.engine, **retention(app))
            app.extensions["export_runner"] = runner
            runner.start()


#: the retention settings and the most each may be (a century: dates stay in range)
RETENTION_SETTINGS = {"EXPORT_RETENTION_DAYS": 36_500, "EXPORT_PERSONAL_RETENTION_HOURS": 876_000}


def _positive(name: str, raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value <= RETENTION_SETTINGS[name]:  # NaN fails too
        raise ValueError(f"{name} must be a positive number (at most "
                         f"{RETENTION_SETTINGS[name]}), not {raw!r}")
    return value


def retention(app: Flask) -> dict[str, timedelta]:
    """How long finished files are kept (EXPORT_RETENTION_DAYS, and for files with phone
    numbers EXPORT_PERSONAL_RETENTION_HOURS)."""
    return {"retention": timedelta(days=float(app.config["EXPORT_RETENTION_DAYS"])),
            "personal_retention": timedelta(
                hours=float(app.config["EXPORT_PERSONAL_RETENTION_HOURS"]))}


def queue_export(campaign: Campaign, kind: str, filters: dict[str, Any],
                 unit_ids: set[int] | None, personal: bool = False) -> ExportJob:
    """Record the job (the caller audits the request and commits, then `wake_runner`)."""
    user = current_user()
    return create_job(db.session, campaign, user.id if user else None, kind, filters,
                      unit_ids, personal)


def wake_runner() -> None:
    runner: ExportRunner | None = current_app.extensions.get("export_runner")
    if runner:
        runner.wake()


@bp.post("/admin/campaigns/<int:campaign_id>/export.xlsx")
@login_required
def start_export(campaign_id: int):  # type: ignore[no-untyped-def]
    """Queue an Excel export of the filtered table (or the workbook) and show its progress.

    :raise 400: unknown table.
    """
    campaign, visible = _campaign_scope(campaign_id)
    kind = request.args.get("table", "responses")
    if kind not in (*EXPORT_TABLES, WORKBOOK):
        return render_error(400, "导出内容只能是 responses（评议结果）、tallies（分项统计）、"
                                 "rankings（排名）或 all（整个工作簿）。")
    tally_filter = _request_filter(campaign)
    job = queue_export(campaign, kind, tally_filter.to_params(), visible)
    audit("export.download", "campaign", campaign.id, campaign_id=campaign.id,
          after={"table": kind, "format": "xlsx", "filter": tally_filter.to_params(),
                 "units": sorted(visible) if visible is not None else "all", "job": job.id})
    db.session.commit()
    wake_runner()
    return redirect(url_for("reports.export_job", job_id=job.id), code=303)


def _visible_job(job_id: int) -> ExportJob:
    """A job the signed-in user may see: an admin any, a secretary their own within their units
    (never one with phone numbers).

    :raise 404: no such job, or someone else's (its existence is not revealed).
    """
    user = current_user()
    # fresh from the store: the runner updates the row from another session
    job = db.session.get(ExportJob, job_id, populate_existing=True)
    if job is None or user is None:
        abort(404)
    if user.is_admin:
        return job
    mine = {u.id for u in user.units if u.campaign_id == job.campaign_id}
    if (job.personal or job.requested_by_id != user.id or job.unit_ids is None
            or not set(job.unit_ids) <= mine):
        abort(404)
    return job


def _expired(job: ExportJob) -> bool:
    return is_expired(job, utcnow(), **retention(current_app))


def _status(job: ExportJob) -> dict[str, Any]:
    view = job_view(job, _expired(job))
    return {"id": job.id, "status": view.status, "rows_done": view.rows_done,
            "rows_total": view.rows_total, "percent": view.percent, "error": view.error,
            "download_url": url_for("reports.download_export", job_id=job.id)
            if view.status == JobStatus.DONE.value else None}


@bp.get("/admin/exports/<int:job_id>")
@login_required
def export_job(job_id: int):  # type: ignore[no-untyped-def]
    """The progress bar of one export, and its download link when ready."""
    job = _visible_job(job_id)
    back = (url_for("admin.followups", campaign=job.campaign_id) if job.kind == "ledger"
            else url_for("reports.results", campaign_id=job.campaign_id))
    kept = retention(current_app)["personal_retention" if job.personal else "retention"]
    return render_template("admin/reports/export_job.html", job=job, kind_label=job.label,
                           status=_status(job), back_url=back,
                           back_label="返回整改台账" if job.kind == "ledger" else "返回评议结果",
                           kept=_duration(kept), expired_text=EXPIRED_TEXT,
                           status_url=url_for("reports.export_status", job_id=job.id))


EXPIRED_TEXT = "文件已过期，请重新导出。"


def _duration(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f" {hours / 24:g} 天" if hours >= 48 and hours % 24 == 0 else f" {hours:g} 小时"


@bp.get("/api/v1/admin/exports/<int:job_id>")
@api_login_required
def export_status(job_id: int):  # type: ignore[no-untyped-def]
    """JSON: status, rows done of rows total, percent, error, download URL (the page polls)."""
    return jsonify(_status(_visible_job(job_id)))


@bp.get("/admin/exports/<int:job_id>/download")
@login_required
def download_export(job_id: int):  # type: ignore[no-untyped-def]
    """The finished file, streamed from the database piece by piece.

    :raise 404: not the user's job, or not finished yet.
    :raise 410: its file is past its retention (deleted, or about to be).
    """
    job = _visible_job(job_id)
    if _expired(job):
        return render_error(410, EXPIRED_TEXT)
    if job.status != JobStatus.DONE.value:
        abort(404)
    if job.personal:  # phone numbers leave the system: every download is on record
        audit("contact.export", "campaign", job.campaign_id, campaign_id=job.campaign_id,
              after={"format": "xlsx", "job": job.id, "download": True})
    db.session.commit()
    return Response(stream_with_context(read_file(db.session, job)), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition":
                             f"attachment; filename={job.download_name}",
                             "Content-Length": str(job.byte_size or 0),
                             "Cache-Control": "no-store"})
