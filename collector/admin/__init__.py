"""Cadre pages under /admin."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from ..auth import authenticate, current_user, log_in, log_out, login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _safe_next(target: str | None) -> str:
    """Only follow local redirects after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    """Sign in with username and password."""
    error = None
    if request.method == "POST":
        user = authenticate(request.form.get("username", ""), request.form.get("password", ""))
        if user is not None:
            log_in(user)
            return redirect(_safe_next(request.args.get("next")))
        error = "用户名或密码错误。"
    return render_template("admin/login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    log_out()
    return redirect(url_for("admin.login"))


@bp.get("/")
@login_required
def index():  # type: ignore[no-untyped-def]
    return render_template("admin/index.html", user=current_user())
