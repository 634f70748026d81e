"""Who is signed in, the decorators that guard cadre pages, CSRF and login throttling."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Flask, abort, current_app, g, redirect, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from werkzeug.security import check_password_hash, generate_password_hash

from sync.models import Campaign, Unit, User

from .extensions import csrf, db, limiter

CSRF_MESSAGE = "页面已过期或缺少安全校验码，请返回上一页刷新后重新提交。"


def init_app(app: Flask, exempt: Iterable[Blueprint] = ()) -> None:
    """Turn on CSRF for every form except the blueprints phones post to without a session."""
    csrf.init_app(app)
    for blueprint in exempt:
        csrf.exempt(blueprint)
    limiter.init_app(app)

    @app.errorhandler(CSRFError)
    def _csrf_refused(exc: CSRFError):  # type: ignore[no-untyped-def]
        from .errors import render_error

        return render_error(400, CSRF_MESSAGE, "csrf")

    @app.context_processor
    def _user_in_templates() -> dict[str, Any]:
        return {"current_user": current_user}


def login_rate_key() -> str:
    """Count failed logins per client address and username (case-insensitive)."""
    username = request.form.get("username", "").strip().lower()
    return f"login:{get_remote_address()}:{username}"


def login_failed(response: Any) -> bool:
    """Only a refused password counts towards the limit."""
    return response.status_code == 401


@functools.cache
def _dummy_hash() -> str:
    """A hash made like real ones, checked for unknown usernames so they take as long."""
    return generate_password_hash("unknown-user-dummy-password")


def authenticate(username: str, password: str) -> User | None:
    """Return the user when the password matches; unknown users cost the same hash check."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if check_password_hash(user.password_hash, password):
        return user
    return None


def session_stamp(user: User) -> str:
    """A keyed digest of the password hash: a password change ends the user's other sessions."""
    key = str(current_app.secret_key).encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def log_in(user: User) -> None:
    """Start a fresh session for the user."""
    session.clear()  # a new session id: no fixation
    session["user_id"] = user.id
    session["stamp"] = session_stamp(user)
    session.permanent = True


def log_out() -> None:
    """End the session."""
    session.clear()


def current_user() -> User | None:
    """Return the signed-in user, loaded once per request."""
    if "current_user" not in g:
        user_id = session.get("user_id")
        user = db.session.get(User, user_id) if user_id else None
        stamp = session.get("stamp")
        # Only log_in() writes a stamp. A session without one (forged with a leaked key, or
        # from before stamps existed) is refused, and so is one from before a password change.
        if user is not None and not (isinstance(stamp, str) and hmac.compare_digest(
                stamp.encode(), session_stamp(user).encode())):
            user = None
        g.current_user = user
    return g.current_user


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anonymous visitors to the login page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("admin.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only admins; unit secretaries get 403.

    :raise 403: signed in but not an admin.
    """

    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None or not user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def can_access_unit(user: User, unit: Unit) -> bool:
    """Admins see every unit; a secretary only the units assigned to them."""
    return user.is_admin or any(u.id == unit.id for u in user.units)


def can_access_campaign(user: User, campaign: Campaign) -> bool:
    """Admins see every campaign; a secretary those holding one of their units."""
    return user.is_admin or any(u.campaign_id == campaign.id for u in user.units)


def get_unit_or_404(unit_id: int) -> Unit:
    """Load a unit the signed-in user may see.

    :raise 404: no such unit, or it is not one of the secretary's units (ids are not disclosed).
    """
    unit = db.session.get(Unit, unit_id)
    user = current_user()
    if unit is None or user is None or not can_access_unit(user, unit):
        abort(404)
    return unit
