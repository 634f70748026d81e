"""Rating versions: a field worker's correction or void of a rating made on the same phone.

Nothing is edited or deleted. A correction is a new response that names the one it replaces
(`replaces`); a void is a new response with `void: true`, a reason and no answers. The replaced
rating is marked `superseded_by`/`superseded_at` by ONE conditional UPDATE in the same
transaction that stores the new version, so it stops counting exactly when its successor is
stored; reports count only responses that are neither superseded nor voids.

Trust: only the phone (device id) and link that made a rating may replace it — the phone's
device id is evidence, the link is server-signed. A version may arrive before its original
(queues upload out of order after an export/import): the original is then superseded as it is
stored. Batches of one phone are serialised (an advisory lock on PostgreSQL, the write lock on
SQLite), so an original and its correction racing in two requests cannot both stay counted.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, and_, exists, func, select, text, update
from sqlalchemy.orm import Session, aliased

from .models import Channel, Response

CORRECTION = "correction"
VOID = "void"
#: a version naming a rating that an earlier version had already replaced: kept, not counted
STALE_VERSION = "stale_version"


class VersionRejected(ValueError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def check_version(session: Session, data: dict[str, Any], link_id: int, channel: Channel,
                  device_id: str | None) -> None:
    """Refuse a correction or void the sender may not make (before anything is stored).

    :raise VersionRejected: a poster link, no device id, itself, or another phone's/link's rating.
    """
    replaces = data.get("replaces")
    if replaces is None:
        if data.get("void"):
            raise VersionRejected("作废时须指明要作废的评议（replaces）。", "void_target_missing")
        return
    if channel == Channel.ONLINE:
        raise VersionRejected("线上评议（海报）不能更正或作废；如有误请联系管理员。",
                              "version_not_allowed")
    if not device_id:
        raise VersionRejected("缺少设备编号，无法确认是本机的评议，不能更正或作废。",
                              "version_device_missing")
    if str(replaces) == str(data["id"]):
        raise VersionRejected("评议不能更正或作废它自己。", "version_self")
    original = session.execute(select(Response.link_id, Response.device_id, Response.excluded_at)
                               .where(Response.uuid == str(replaces))).first()
    if original is not None and (original.link_id != link_id or original.device_id != device_id):
        raise VersionRejected("只能更正或作废本机用同一链接提交的评议。", "version_not_yours")
    if original is not None and original.excluded_at is not None:
        # An admin's exclusion (fraud flag, upheld appeal) must not be undone by a new version.
        raise VersionRejected("该评议已被管理员剔除，不能更正或作废；如有误请联系管理员。",
                              "version_excluded")


def lock_device(conn: Connection, device_id: str | None) -> None:
    """Serialise this phone's batches (PostgreSQL; SQLite writers already hold one lock)."""
    if device_id and conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                     {"key": zlib.crc32(device_id.encode()) - 2**31})


def apply_versions(conn: Connection, stored: Sequence[tuple[int, dict[str, Any]]],
                   batch_ids: set[int]) -> tuple[set[int], set[int]]:
    """Mark what the newly stored responses replace, and new originals already replaced.

    `stored` holds (response id, row) of the visit-link responses this transaction inserted;
    `batch_ids` every response id it inserted. Returns (new responses that do not count: voids,
    stale versions, originals replaced before they arrived; earlier responses that stop counting
    now) for the running totals.
    """
    now = datetime.now(timezone.utc)
    silent = {response_id for response_id, row in stored if row.get("is_void")}
    replaced: set[int] = set()
    for response_id, row in stored:
        if not row.get("replaces"):
            continue
        hit = conn.execute(
            update(Response)
            .where(Response.uuid == row["replaces"], Response.link_id == row["link_id"],
                   Response.device_id == row["device_id"], Response.superseded_at.is_(None),
                   # excluded since check_version read it: the version is kept, not counted
                   Response.excluded_at.is_(None))
            .values(superseded_by=row["uuid"], superseded_at=now)
            .returning(Response.id, Response.is_void, Response.is_repeat,
                       Response.excluded_at)).all()
        for rid, was_void, was_repeat, was_excluded in hit:
            if rid in batch_ids:
                silent.add(rid)
            elif not (was_void or was_repeat or was_excluded):  # it counted until now
                replaced.add(rid)
        if not hit and conn.scalar(select(func.count()).where(
                Response.uuid == row["replaces"])):
            # The original is here but already replaced by another version: this one is kept
            # for review and does not count (the phone only ever corrects the latest version).
            conn.execute(update(Response).where(Response.id == response_id).values(
                superseded_at=now, flags=[*row["flags"], STALE_VERSION]))
            silent.add(response_id)
    later = aliased(Response)
    successor = and_(later.replaces == Response.uuid, later.link_id == Response.link_id,
                     later.device_id == Response.device_id, later.id != Response.id)
    # Originals stored after their correction never count.
    late_originals = conn.execute(
        update(Response)
        .where(Response.id.in_([rid for rid, _ in stored]), Response.superseded_at.is_(None),
               exists().where(successor))
        .values(superseded_at=now,
                superseded_by=select(func.min(later.uuid)).where(successor).scalar_subquery())
        .returning(Response.id)).scalars().all()
    silent.update(late_originals)
    return silent, replaced


def version_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The response columns and flags a sync item's version fields map to."""
    replaces = data.get("replaces")
    if replaces is None:
        return {"replaces": None, "is_void": False, "void_reason": None}
    void = bool(data.get("void"))
    return {"replaces": str(replaces), "is_void": void,
            "void_reason": (data.get("void_reason") or "").strip() or None if void else None,
            "flags": [VOID if void else CORRECTION]}


def unit_history(session: Session, unit_id: int, limit: int = 50) -> list[Response]:
    """The unit's corrected, voided and replaced ratings, newest first (for admins)."""
    return list(session.scalars(
        select(Response)
        .where(Response.unit_id == unit_id,
               (Response.replaces.is_not(None)) | (Response.superseded_at.is_not(None)))
        .order_by(Response.id.desc()).limit(limit)))
