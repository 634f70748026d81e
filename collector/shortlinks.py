"""GET /q/<code>: the short URL printed under every QR code, redirecting to the signed form URL."""

from __future__ import annotations

from flask import Blueprint, redirect

from qr.links import LinkRevoked
from sync.links import link_by_short_code

from .errors import render_error
from .extensions import db
from .links import form_url
from .ratelimits import limit_form

bp = Blueprint("shortlinks", __name__)

MAX_CODE_LENGTH = 16  # Link.short_code's width: anything longer cannot exist
UNKNOWN_CODE = "未找到该二维码对应的评议，请核对海报或评议卡上的网址后重新输入。"


@bp.get("/q/<code>")
@limit_form
def follow(code: str):  # type: ignore[no-untyped-def]
    """Redirect to the link's form.

    :raise 404: unknown code (a Chinese page).
    :raise 410: the link was revoked (the same page the form shows for a revoked token).
    """
    plausible = len(code) <= MAX_CODE_LENGTH and code.isascii() and code.isalnum()
    link = link_by_short_code(db.session, code) if plausible else None
    if link is None:
        return render_error(404, UNKNOWN_CODE, "short_code_unknown")
    if link.is_revoked:
        revoked = LinkRevoked("该评议二维码已停用，请扫描最新张贴的二维码。")
        return render_error(revoked.http_status, revoked.message, revoked.reason)
    response = redirect(form_url(link), code=302)
    # Never cached: revoking a link must take effect on phones that scanned it before.
    response.headers["Cache-Control"] = "no-store"
    return response
