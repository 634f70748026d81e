"""Import a phone's exported upload queue (导出未上传数据): the last resort for a phone that will
never see signal again. Admins only; importing the same file twice stores nothing twice."""

from __future__ import annotations

from flask import render_template

from sync.queue_file import QueueFileError, import_queue_file

from ..audit import audit
from ..auth import admin_required
from ..extensions import db
from ..links import signer
from . import bp
from .forms import QueueImportForm


@bp.route("/import-queue", methods=["GET", "POST"])
@admin_required
def import_queue():  # type: ignore[no-untyped-def]
    """Upload a queue file and show what happened to each rating in it."""
    form = QueueImportForm()
    summary, error = None, None
    if form.validate_on_submit():
        try:
            summary = import_queue_file(db.session, signer(), form.queue_file.data.read())
        except QueueFileError as exc:
            error = exc.message
        else:
            # Each batch committed as it merged; the record of the import follows them.
            audit("queue.import", "queue_file", form.queue_file.data.filename,
                  after={"filename": form.queue_file.data.filename, **summary.counts})
            db.session.commit()
    status = 422 if error or form.errors else 200
    return render_template("admin/import_queue.html", form=form, summary=summary,
                           error=error), status
