"""Cadre pages under /admin."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from sync.followups.home import secretary_home
from sync.models import Campaign
from sync.reports import campaign_tally, local_time

from ..auth import (
    authenticate,
    current_user,
    log_in,
    log_out,
    login_failed,
    login_rate_key,
    login_required,
)
from ..extensions import db, limiter
from .reports import present

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_template_filter("beijing")
def _beijing(moment: datetime | None) -> str:
    """A stored UTC time as every page shows it: Beijing time, to the minute."""
    return local_time(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _safe_next(target: str | None) -> str:
    """Only follow local redirects after login: a path on this site, no scheme, no host.

    Browsers drop tabs and newlines from URLs ("/\t/evil.com" becomes "//evil.com"), so any
    control character or backslash disqualifies the target.
    """
    if (target and target.startswith("/") and target.isprintable() and "\\" not in target
            and not target.startswith("//")):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=login_rate_key,
               methods=["POST"], deduct_when=login_failed, scope="login-user")
# Spraying many usernames from one address is throttled too, more loosely.
@limiter.limit("30 per minute", methods=["POST"], deduct_when=login_failed, scope="login-ip")
def login():  # type: ignore[no-untyped-def]
    """Sign in with username and password; failures are throttled (429)."""
    error = None
    if request.method == "POST":
        user = authenticate(request.form.get("username", "").strip(),
                            request.form.get("password", ""))
        if user is not None:
            log_in(user)
            return redirect(_safe_next(request.args.get("next")))
        error = "用户名或密码错误。"
    return render_template("admin/login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    """Sign out."""
    log_out()
    return redirect(url_for("admin.login"))


@bp.get("/")
@login_required
def index():  # type: ignore[no-untyped-def]
    """Admins go to the campaigns; a secretary sees their units' day at a glance (phone-first)."""
    user = current_user()
    assert user is not None
    if user.is_admin:
        return redirect(url_for("admin.campaigns"))
    cards = secretary_home(db.session, list(user.units))
    # Each unit's headline numbers (score, rank, 满意率, ratings), per campaign of theirs.
    results = {}
    for campaign_id in {u.campaign_id for u in user.units}:
        campaign = db.session.get(Campaign, campaign_id)
        tally = campaign_tally(db.session, campaign, compare=False)
        results.update({u.id: tally.unit(u.id) for u in user.units
                        if u.campaign_id == campaign_id})
    return render_template("admin/index.html", user=user, cards=cards, results=results,
                           points=present.points, percent=present.percent,
                           rank_text=present.rank_text)


# Routes on bp.
from . import (  # noqa: E402,F401
    audit,
    campaigns,
    followups,
    integrity,
    links,
    queue_import,
    unit_archive,
    users,
)
