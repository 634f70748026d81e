"""Deleting an unused unit or category, and archiving one that has data.

A delete is tried inside a savepoint and the database's foreign keys decide: a unit with ratings
(responses reference it without ON DELETE) cannot go, and an IntegrityError becomes a Chinese
message. References that would CASCADE (links, follow-ups, deductions, accounts…) cannot refuse
by themselves, so they are checked under a lock on the unit row: on PostgreSQL a concurrent
insert of such a reference waits for that lock and then fails its own foreign key.

Archiving keeps every row; an archived unit only leaves new links, posters, the form and the
rankings (see `active`), and restoring brings it back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .campaigns import SetupError
from .link_cache import bump_version
from .models import Base, Category, Unit, utcnow

IN_USE = "“{name}”已有评议结果、链接或其他记录，不能删除；可以改为归档。"


def active() -> ColumnElement[bool]:
    """The predicate for units that take part in new links, posters, the form and rankings."""
    return Unit.archived_at.is_(None)


def _cascading_references(session: Session, unit_id: int) -> bool:
    """Whether a row that the database would silently delete along with the unit names it."""
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == Unit.__tablename__ and fk.ondelete:
                if session.scalar(select(exists().where(fk.parent == unit_id))):
                    return True
    return False


def _delete_row(session: Session, statement, message: str) -> None:  # type: ignore[no-untyped-def]
    try:
        with session.begin_nested():
            session.execute(statement)
    except IntegrityError as exc:
        raise SetupError(message) from exc
    bump_version(session)  # a Core delete skips the ORM's automatic bump


def delete_unit(session: Session, unit: Unit) -> None:
    """Delete a unit nothing refers to.

    :raise SetupError: it has ratings, links or other records (archive it instead).
    """
    message = IN_USE.format(name=unit.name)
    campaign, category = unit.campaign, unit.category
    session.scalar(select(Unit.id).where(Unit.id == unit.id).with_for_update())
    if _cascading_references(session, unit.id):
        raise SetupError(message)
    _delete_row(session, delete(Unit).where(Unit.id == unit.id), message)
    session.expire(campaign, ["units"])  # the ORM delete has already dropped `unit` itself
    session.expire(category, ["units"])


def delete_category(session: Session, category: Category) -> None:
    """Delete a category without units (a unit added meanwhile trips the foreign key).

    :raise SetupError: it still has units.
    """
    message = f"类别“{category.name}”下还有评议对象，请先删除或移走它们。"
    campaign = category.campaign
    if session.scalar(select(Unit.id).where(Unit.category_id == category.id).limit(1)):
        raise SetupError(message)
    _delete_row(session, delete(Category).where(Category.id == category.id), message)
    session.expire(campaign, ["categories"])


def archive_unit(unit: Unit, now: datetime | None = None) -> None:
    """Archive a unit: its data stays, it leaves links, posters, the form and rankings."""
    if unit.archived_at is None:
        unit.archived_at = now or utcnow()


def restore_unit(unit: Unit) -> None:
    """Bring an archived unit back.

    :raise SetupError: its category is archived (restore that instead).
    """
    if unit.category.archived_at is not None:
        raise SetupError(f"类别“{unit.category.name}”已归档，请先取消归档该类别。")
    unit.archived_at = None


def archive_category(session: Session, category: Category, now: datetime | None = None) -> None:
    """Archive a category and, with the same timestamp, every active unit in it."""
    if category.archived_at is not None:
        return
    category.archived_at = now or utcnow()
    session.execute(update(Unit).where(Unit.category_id == category.id, active())
                    .values(archived_at=category.archived_at))
    bump_version(session)


def restore_category(session: Session, category: Category) -> None:
    """Restore a category and the units archived with it (not those archived on their own)."""
    if category.archived_at is None:
        return
    session.execute(update(Unit).where(Unit.category_id == category.id,
                                       Unit.archived_at == category.archived_at)
                    .values(archived_at=None))
    category.archived_at = None
    bump_version(session)
