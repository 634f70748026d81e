"""Delete, archive and restore units and categories (admins only); logic in sync.unit_archive."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, url_for

from sync.audit import CATEGORY_FIELDS, UNIT_FIELDS, snapshot
from sync.campaigns import SetupError
from sync.db import write_transaction
from sync.models import Category, Unit
from sync.unit_archive import (
    archive_category,
    archive_unit,
    delete_category,
    delete_unit,
    restore_category,
    restore_unit,
)

from ..audit import audit
from ..auth import admin_required
from ..extensions import db
from . import bp

UNIT_STATE = (*UNIT_FIELDS, "archived_at")
CATEGORY_STATE = (*CATEGORY_FIELDS, "archived_at")

#: verb → (change, done message)
UNIT_ACTIONS: dict[str, tuple[Callable[[Unit], None], str]] = {
    "delete": (lambda unit: delete_unit(db.session, unit), "已删除评议对象“{name}”。"),
    "archive": (archive_unit, "已归档评议对象“{name}”，其评议数据仍保留。"),
    "restore": (restore_unit, "已取消归档评议对象“{name}”。"),
}
CATEGORY_ACTIONS: dict[str, tuple[Callable[[Category], None], str]] = {
    "delete": (lambda c: delete_category(db.session, c), "已删除类别“{name}”。"),
    "archive": (lambda c: archive_category(db.session, c), "已归档类别“{name}”及其评议对象。"),
    "restore": (lambda c: restore_category(db.session, c), "已取消归档类别“{name}”。"),
}


def _apply(kind: str, load: Callable[[], Unit | Category], verb: str,
           fields: tuple[str, ...], actions: dict) -> None:  # type: ignore[type-arg]
    """Run one change and its audit row as one write transaction (BEGIN IMMEDIATE on SQLite, so
    a concurrent writer waits); a refusal is flashed and nothing is written."""
    change, done = actions[verb]
    try:
        with write_transaction(db.session):
            obj = load()
            ident, campaign_id, name = obj.id, obj.campaign_id, obj.name
            before = snapshot(obj, fields)
            change(obj)
            audit(f"{kind}.{verb}", kind, ident, campaign_id=campaign_id, before=before,
                  after=None if verb == "delete" else snapshot(obj, fields))
    except SetupError as exc:
        flash(str(exc), "error")
        return
    flash(done.format(name=name))


@bp.post("/units/<int:unit_id>/<any(delete, archive, restore):verb>")
@admin_required
def unit_state(unit_id: int, verb: str):  # type: ignore[no-untyped-def]
    """Delete an unused unit, or archive / restore one."""
    campaign_id = db.get_or_404(Unit, unit_id).campaign_id
    _apply("unit", lambda: db.get_or_404(Unit, unit_id), verb, UNIT_STATE, UNIT_ACTIONS)
    return redirect(url_for("admin.units", campaign_id=campaign_id), 303)


@bp.post("/campaigns/<int:campaign_id>/categories/<int:category_id>/"
         "<any(delete, archive, restore):verb>")
@admin_required
def category_state(campaign_id: int, category_id: int, verb: str):  # type: ignore[no-untyped-def]
    """Delete an empty category, or archive / restore one with its units."""
    def load() -> Category:
        category = db.session.get(Category, category_id)
        if category is None or category.campaign_id != campaign_id:
            abort(404)
        return category

    _apply("category", load, verb, CATEGORY_STATE, CATEGORY_ACTIONS)
    return redirect(url_for("admin.units", campaign_id=campaign_id), 303)
