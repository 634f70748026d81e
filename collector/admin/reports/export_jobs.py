"""Excel exports as background jobs: start one, watch its progress, download the file.

The file is built by sync.exports.jobs.ExportRunner, a thread of this process started with the
first request (so CLI commands never run one); any process's runner may build any job.
Only the person who asked (within the units they still see) or an admin may see a job.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from sync.exports.jobs import ExportRunner, create_job, job_view
from sync.exports.models import KINDS, ExportJob, JobStatus

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
    """Start this process's runner with its first request (EXPORT_RUNNER=0 in the environment
    leaves the jobs to other processes; tests run jobs themselves)."""
    app.config.setdefault("EXPORT_RUNNER", os.environ.get("EXPORT_RUNNER", "1") != "0"
                          and not app.config.get("TESTING"))
    if not app.config["EXPORT_RUNNER"]:
        return

    @app.before_request
    def _start_runner() -> None:
        if "export_runner" not in app.extensions:
            runner = ExportRunner(db.engine, export_dir())
            app.extensions["export_runner"] = runner
            runner.start()


def export_dir() -> Path:
    return Path(current_app.config["EXPORT_DIR"])


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
    user = current_user()
    job = create_job(db.session, campaign, user.id if user else None, kind,
                     tally_filter.to_params(), visible)
    audit("export.download", "campaign", campaign.id, campaign_id=campaign.id,
          after={"table": kind, "format": "xlsx", "filter": tally_filter.to_params(),
                 "units": sorted(visible) if visible is not None else "all", "job": job.id})
    db.session.commit()
    runner: ExportRunner | None = current_app.extensions.get("export_runner")
    if runner:
        runner.wake()
    return redirect(url_for("reports.export_job", job_id=job.id), code=303)


def _visible_job(job_id: int) -> ExportJob:
    """A job the signed-in user may see: an admin any, a secretary their own within their units.

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
    if job.requested_by_id != user.id or job.unit_ids is None or not set(job.unit_ids) <= mine:
        abort(404)
    return job


def _status(job: ExportJob) -> dict[str, Any]:
    view = job_view(job)
    return {"id": job.id, "status": view.status, "rows_done": view.rows_done,
            "rows_total": view.rows_total, "percent": view.percent, "error": view.error,
            "download_url": url_for("reports.download_export", job_id=job.id)
            if view.status == JobStatus.DONE.value else None}


@bp.get("/admin/exports/<int:job_id>")
@login_required
def export_job(job_id: int):  # type: ignore[no-untyped-def]
    """The progress bar of one export, and its download link when ready."""
    job = _visible_job(job_id)
    return render_template("admin/reports/export_job.html", job=job, kind_label=KINDS[job.kind],
                           status=_status(job),
                           status_url=url_for("reports.export_status", job_id=job.id))


@bp.get("/api/v1/admin/exports/<int:job_id>")
@api_login_required
def export_status(job_id: int):  # type: ignore[no-untyped-def]
    """JSON: status, rows done of rows total, percent, error, download URL (the page polls)."""
    return jsonify(_status(_visible_job(job_id)))


@bp.get("/admin/exports/<int:job_id>/download")
@login_required
def download_export(job_id: int):  # type: ignore[no-untyped-def]
    """The finished file.

    :raise 404: not the user's job, not finished yet, or its file is gone.
    """
    job = _visible_job(job_id)
    if job.status != JobStatus.DONE.value or not job.file_name:
        abort(404)
    path = export_dir() / job.file_name
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=XLSX_MIMETYPE, as_attachment=True,
                     download_name=job.download_name)
