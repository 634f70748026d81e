"""JSON API: /api/v1/sync, /api/v1/forms/<token>, /api/v1/openapi.json, /healthz."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import BadRequest

from qr.links import LinkError
from sync.forms import form_definition
from sync.merge import BatchError, StoreBusy, merge_batch

from ..errors import render_error
from ..extensions import db
from ..links import issue_receipt, link_cache, resolve, signer
from ..ratelimits import limit_form, limit_sync
from .openapi import build_spec

bp = Blueprint("api", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Answer 200 when the store is reachable, 503 when it is not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("health check failed")
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    finally:
        db.session.rollback()
    return jsonify({"status": "ok", "database": db.engine.dialect.name})


@bp.get("/api/v1/forms/<token>")
@limit_form
def form(token: str):  # type: ignore[no-untyped-def]
    """Return the form definition behind a link.

    :raise 4xx: the same reasons as the form page, as JSON.
    """
    try:
        link = resolve(token)
    except LinkError as exc:
        return render_error(exc.http_status, exc.message, exc.reason)
    return jsonify(form_definition(link, issue_receipt(link)))


@bp.post("/api/v1/sync")
@limit_sync
def sync():  # type: ignore[no-untyped-def]
    """Merge a batch of responses; one result per item, in request order."""
    try:
        body = request.get_json(force=True)
    except (BadRequest, RecursionError):  # RecursionError: absurdly deep nesting
        return render_error(400, "请求体不是有效的 JSON。", "malformed_json")
    try:
        results = merge_batch(db.session, signer(), body, client_ip=request.remote_addr,
                              cache=link_cache())
    except BatchError as exc:
        return render_error(400, exc.message, "bad_batch")
    except StoreBusy:  # nothing stored; the phone keeps its queue and retries on 503
        current_app.logger.warning("sync batch gave up after repeated retries")
        return render_error(503, "服务器繁忙，评议已保存在手机上，稍后会自动上传。", "busy")
    return jsonify({"results": [r.to_dict() for r in results]})


@bp.get("/api/v1/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    """The OpenAPI 3 document of this API."""
    return jsonify(build_spec())
