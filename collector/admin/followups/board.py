"""The public board (/b/<token>): rankings, counts and 整改 progress; nothing personal.

Off unless the campaign enables it. The token is the campaign id signed with the app's keys
(salt "pingyi-board"), so ids cannot be walked. The page may be embedded in a unit's website or
a 公众号 article: the view opts out of frame protection (`embeddable`, and its own
Content-Security-Policy `frame-ancestors *`).
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer

from sync.followups.board import board_data
from sync.models import Campaign

from ...errors import render_error
from ...extensions import db
from ...survey.compress import gzip_response

bp = Blueprint("board", __name__)
bp.after_request(gzip_response)

SALT = "pingyi-board"
#: the board is rebuilt at most this often per process (it reads whole-campaign tallies)
CACHE_SECONDS = 60
FRAMEABLE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                 "frame-ancestors *; base-uri 'none'; form-action 'none'")


def _serializers() -> list[URLSafeSerializer]:
    keys = [current_app.config["SECRET_KEY"], *current_app.config.get("SECRET_KEY_FALLBACKS", [])]
    return [URLSafeSerializer(key, salt=SALT) for key in keys]


def board_token(campaign: Campaign) -> str:
    """The public token naming a campaign's board."""
    return str(_serializers()[0].dumps(campaign.id))


def _campaign_id(token: str) -> int | None:
    for serializer in _serializers():  # the current key first, then retired ones
        try:
            value = serializer.loads(token)
        except BadSignature:
            continue
        return value if isinstance(value, int) else None
    return None


@bp.get("/b/<token>")
def board(token: str):  # type: ignore[no-untyped-def]
    """The board page, small and fast on a phone.

    :raise 404: a forged token, an unknown campaign, or a board that is not public.
    """
    campaign_id = _campaign_id(token) if len(token) <= 200 else None
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
    if campaign is None or not campaign.board_enabled:
        return render_error(404, "该评议结果公示页不存在或尚未公开。")
    cache = current_app.extensions.setdefault("board_cache", {})
    cached = cache.get(campaign.id)
    if cached is None or cached[0] < time.monotonic():
        page = render_template("board/board.html", board=board_data(db.session, campaign))
        cached = (time.monotonic() + CACHE_SECONDS, page)
        cache[campaign.id] = cached
    response = current_app.make_response(cached[1])
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    response.headers["Content-Security-Policy"] = FRAMEABLE_CSP
    response.headers.pop("X-Frame-Options", None)
    return response


#: read by the app's frame-protection hook (h1's collector.security.embeddable sets the same
#: attribute): this view may be shown inside an iframe
board.embeddable = True  # type: ignore[attr-defined]


def forget(campaign_id: int) -> None:
    """Drop a cached board (its settings changed)."""
    current_app.extensions.get("board_cache", {}).pop(campaign_id, None)
