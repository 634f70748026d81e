"""Account pages (admins only): create unit-secretary accounts and assign their units."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from sync.accounts import AccountError, assign_units, create_user, set_password
from sync.audit import account_snapshot
from sync.models import Campaign, Role, Unit, User

from ..audit import audit
from ..auth import admin_required
from ..extensions import db
from . import bp
from .forms import UserForm, UserUnitsForm


def _unit_choices() -> list[SelectChoice]:
    """Every unit, grouped by campaign (newest first)."""
    rows = db.session.execute(
        select(Unit.id, Unit.code, Unit.name, Campaign.title).join(Campaign)
        .order_by(Campaign.id.desc(), Unit.code)).all()
    return [SelectChoice(uid, f"{code} {name}", optgroup=title)
            for uid, code, name, title in rows]


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():  # type: ignore[no-untyped-def]
    """List accounts; create a unit secretary with the units they may see."""
    form = UserForm()
    form.unit_ids.choices = _unit_choices()
    if form.validate_on_submit():
        try:
            user = create_user(db.session, form.username.data, form.password.data,
                               Role.SECRETARY, (form.display_name.data or "").strip())
            assign_units(db.session, user, form.unit_ids.data)
        except AccountError as exc:
            db.session.rollback()
            form.username.errors = [str(exc)]
        else:
            audit("account.create", "user", user.id, after=account_snapshot(user))
            db.session.commit()
            flash(f"已创建单位联络员账号“{user.username}”。")
            return redirect(url_for("admin.users"))
    accounts = db.session.scalars(select(User).options(selectinload(User.units))
                                  .order_by(User.role, User.username)).all()
    return render_template("admin/users/list.html", users=accounts, form=form), \
        422 if form.errors else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):  # type: ignore[no-untyped-def]
    """Change a secretary's name, password or units."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    form = UserUnitsForm(obj=user, unit_ids=[u.id for u in user.units])
    form.unit_ids.choices = _unit_choices()
    if form.validate_on_submit():
        before = account_snapshot(user)
        try:
            if form.password.data:
                set_password(user, form.password.data)
        except AccountError as exc:
            form.password.errors = [str(exc)]
        else:
            user.display_name = (form.display_name.data or "").strip() or None
            if not user.is_admin:
                assign_units(db.session, user, form.unit_ids.data)
            audit("account.update", "user", user.id, before=before,
                  after={**account_snapshot(user), "password_changed": bool(form.password.data)})
            db.session.commit()
            flash("已保存。")
            return redirect(url_for("admin.users"))
    return render_template("admin/users/edit.html", user=user, form=form), \
        422 if form.errors else 200
