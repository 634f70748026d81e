"""Public pages: the /s/<token> form, its no-JavaScript POST fallback, Service Worker, manifest."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for

from qr.links import LinkError
from sync.devices import units_rated_by_device
from sync.forms import form_definition
from sync.integrity.receipts import closing_of
from sync.links import ResolvedLink
from sync.merge import REJECTED, STORED, merge_batch
from sync.models import Channel
from sync.schemas import usable_device_id

from ..errors import render_error
from ..extensions import db
from ..links import issue_receipt, link_cache, resolve, signer
from ..ratelimits import limit_form
from .compress import gzip_response

bp = Blueprint("survey", __name__)
bp.after_request(gzip_response)

#: the cookie the no-JS form and the page's script share as this phone's device id
DEVICE_COOKIE = "pingyi_device"
DEVICE_COOKIE_AGE = 400 * 24 * 3600  # a campaign year and then some (browsers cap at 400 days)


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
        "receipt": form.get("receipt") or None,
        "contact": form.get("contact") or None,
    }


def device_id() -> str:
    """This browser's device id from its cookie, or a fresh one (set by `remember_device`).

    The cookie is client text like any other: one the store cannot hold (a NUL, which cookie
    unquoting turns "\\000" into; too long) is replaced, never queried with.
    """
    return usable_device_id(request.cookies.get(DEVICE_COOKIE)) or str(uuid.uuid4())


def remember_device(response: Response, device: str) -> Response:
    """Keep the device id in a cookie so poster mode can tell a repeat rating."""
    if request.cookies.get(DEVICE_COOKIE) != device:
        response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_COOKIE_AGE, samesite="Lax")
    return response


def reason_levels(definition: dict) -> list[str]:
    """Labels of the levels that ask for a reason (好差评's low levels), each once, in order."""
    labels = [lv["label"] for item in definition["items"] for lv in item["levels"]
              if lv["needs_reason"]]
    return list(dict.fromkeys(labels))


def render_form(token: str, link: ResolvedLink, device: str, status: int = 200,
                values: Mapping[str, Any] | None = None, error: str | None = None) -> Response:
    """Render the one-document form page, with the form definition embedded for its script.

    A re-shown form keeps the receipt it was first served with: it proves when rating began.
    """
    values = values or {}
    definition = form_definition(link, values.get("receipt") or issue_receipt(link))
    rated = sorted(units_rated_by_device(db.session, link, device))
    page = render_template(
        "survey/form.html", form=definition, token=token, rated=rated,
        visit_mode=link.channel == Channel.VISIT or link.visit is not None,
        poster_mode=link.channel == Channel.ONLINE,
        reason_levels=reason_levels(definition),
        response_id=str(uuid.uuid4()), values=values,
        # The no-JS form's rating time is fixed when the page is served, so a double submit
        # is the same content (a duplicate), not a conflict.
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        error=error)
    response = current_app.make_response((page, status))
    # no-store keeps the page out of the back/forward cache: Back after a no-JS submit fetches a
    # fresh page with a new response_id, so the next rater is not taken for a resend.
    # (The Service Worker's offline copy is put in its cache explicitly and is unaffected.)
    response.headers["Cache-Control"] = "private, no-store"
    return remember_device(response, device)


@bp.route("/s/<token>", methods=["GET", "POST"])
@limit_form
def form(token: str):  # type: ignore[no-untyped-def]
    """Show the questionnaire; on POST store it through the same merge as /api/v1/sync.

    :raise 4xx: a Chinese page for a bad, forged, expired or revoked link.
    """
    try:
        # A form opened before its link or campaign closed may still be sent: its receipt decides.
        link = resolve(token, accept_closed=request.method == "POST")
    except LinkError as exc:
        return render_error(exc.http_status, exc.message, exc.reason)
    device = device_id()
    if request.method != "POST":  # GET, and HEAD (which Flask routes here too)
        return render_form(token, link, device)

    item = form_to_item(token, request.form.to_dict())
    rated_before = units_rated_by_device(db.session, link, device)
    db.session.rollback()  # the merge owns its own transaction
    body = {"device_id": device, "responses": [item]}
    (result,) = merge_batch(db.session, signer(), body, client_ip=request.remote_addr,
                            cache=link_cache())
    unit = link.unit_by_code(item["unit"])
    if result.status == REJECTED:
        closing = closing_of(link, unit)
        if closing is not None and closing.at <= datetime.now(timezone.utc):
            return render_error(410, result.error, result.code)  # no use showing the form again
        return render_form(token, link, device, 422, values=request.form, error=result.error)
    repeat = result.status == STORED and unit is not None and unit.code in rated_before
    page = render_template("survey/thanks.html", form=form_definition(link),
                           status=result.status, repeat=repeat, again=url_for(".form", token=token))
    return remember_device(current_app.make_response(page), device)


@bp.get("/s/sw.js")
def service_worker():  # type: ignore[no-untyped-def]
    """Serve the Service Worker from /s/ so its scope covers every form page."""
    script = Path(current_app.static_folder or "", "sw.js").read_text(encoding="utf-8")
    response = current_app.response_class(script, mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"  # a new worker reaches phones at once
    return response


@bp.get("/s/<token>/manifest.webmanifest")
def manifest(token: str):  # type: ignore[no-untyped-def]
    """Describe the visit page as an app field staff can add to the home screen.

    :raise 4xx: the same reasons as the form page.
    """
    try:
        link = resolve(token)
    except LinkError as exc:
        return render_error(exc.http_status, exc.message, exc.reason)
    place = f"{link.visit.place}入户评议" if link.visit else link.channel.label
    body = {
        "name": f"{link.campaign.title} · {place}",
        "short_name": place[:12],
        "lang": "zh-CN",
        "start_url": url_for(".form", token=token),
        "scope": url_for(".form", token=token),
        "display": "standalone",
        "background_color": "#ededed",
        "theme_color": "#07c160",
        "icons": [{"src": url_for("static", filename=f"icons/icon-{size}.png"),
                   "sizes": f"{size}x{size}", "type": "image/png"} for size in (192, 512)],
    }
    response = current_app.json.response(body)
    response.mimetype = "application/manifest+json"
    return response
