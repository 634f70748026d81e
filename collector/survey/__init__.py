"""Public pages: the /s/<token> form and its no-JavaScript POST fallback."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask import Blueprint, render_template, request

from qr.links import LinkError
from sync.forms import form_definition
from sync.merge import REJECTED, merge_batch

from ..errors import render_error
from ..extensions import db
from ..links import resolve, signer

bp = Blueprint("survey", __name__)


def form_to_item(token: str, form: dict) -> dict:
    """Turn a posted HTML form into one sync item (the same merge as the phone's queue)."""
    answers = {key[2:]: value for key, value in form.items() if key.startswith("a.") and value}
    return {
        "id": form.get("response_id") or str(uuid.uuid4()),
        "token": token,
        "unit": form.get("unit") or None,
        "created_at": form.get("created_at") or datetime.now(timezone.utc).isoformat(),
        "answers": answers,
        "comment": form.get("comment", ""),
        "identity": form.get("identity") or None,
    }


@bp.route("/s/<token>", methods=["GET", "POST"])
def form(token: str):  # type: ignore[no-untyped-def]
    """Show the questionnaire; on POST store it through the same merge as /api/v1/sync.

    :raise 4xx: a Chinese page for a bad, forged, expired or revoked link.
    """
    try:
        link = resolve(token)
    except LinkError as exc:
        return render_error(exc.http_status, exc.message, exc.reason)
    definition = form_definition(link)
    if request.method == "GET":
        return render_template("survey/form.html", form=definition, values={}, error=None,
                               response_id=str(uuid.uuid4()), token=token)

    item = form_to_item(token, request.form.to_dict())
    db.session.rollback()  # the merge owns its own transaction
    body = {"device_id": request.cookies.get("pingyi_device"), "responses": [item]}
    (result,) = merge_batch(db.session, signer(), body)
    if result.status == REJECTED:
        return render_template("survey/form.html", form=definition, values=request.form,
                               error=result.error, response_id=item["id"], token=token), 422
    return render_template("survey/thanks.html", form=definition, status=result.status)
