"""Who is signed in, and the decorators that guard cadre pages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, g, redirect, request, session, url_for
from werkzeug.security import check_password_hash

from sync.models import Unit, User

from .extensions import db


def authenticate(username: str, password: str) -> User | None:
    """Return the user when the password matches."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is not None and check_password_hash(user.password_hash, password):
        return user
    return None


def log_in(user: User) -> None:
    session.clear()  # a new session id: no fixation
    session["user_id"] = user.id
    session.permanent = True


def log_out() -> None:
    session.clear()


def current_user() -> User | None:
    if "current_user" not in g:
        user_id = session.get("user_id")
        g.current_user = db.session.get(User, user_id) if user_id else None
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
