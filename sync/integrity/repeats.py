"""Poster mode's "one device counts once per unit", decided exactly once, also under concurrency.

The first poster (线上评议) rating a device makes for a unit claims the (device, unit) pair with an
insert-if-absent on the claim table's primary key, in the same transaction as the rating: whoever
inserts the claim counts; every later rating for the pair, in the same batch, a concurrent one or
on another host, finds it taken and is a repeat (kept, flagged, left out of tallies). A key, not a
read, decides, so two batches racing on PostgreSQL cannot both count (the second waits for the
first's claim to commit or roll back).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, ForeignKey, String, bindparam, update
from sqlalchemy.orm import Mapped, mapped_column

from .. import fastsql
from ..models import Base, Channel, Response

REPEAT_DEVICE = "repeat_device"


class DeviceUnitClaim(Base):
    """The rating that counts for a (device, unit) pair on posters."""

    __tablename__ = "device_unit_claims"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"),
                                         primary_key=True)
    #: the response that holds the claim (the one that counts)
    response_uuid: Mapped[str] = mapped_column(String(36))


@cache
def _claim_statement(insert: Any) -> Any:
    """The claim INSERT, built once per dialect (a sync batch then only binds its rows)."""
    return (insert(DeviceUnitClaim).on_conflict_do_nothing(index_elements=["device_id", "unit_id"])
            .returning(DeviceUnitClaim.device_id, DeviceUnitClaim.unit_id))


def claim_first_ratings(conn: Connection, insert: Any, rows: list[dict[str, Any]],
                        new_ids: dict[str, int]) -> list[dict[str, Any]]:
    """Claim (device, unit) for the poster rows just inserted; flag the ones that lost.

    `rows` are the inserted response rows in request order, `new_ids` their ids by uuid, `insert`
    the dialect's INSERT (it knows ON CONFLICT). Runs inside the batch's write transaction: one
    INSERT … ON CONFLICT DO NOTHING RETURNING, plus one UPDATE only when there are repeats.
    Mutates and returns the repeat rows (`is_repeat`, `flags`), so later steps see the outcome.
    """
    candidates: dict[tuple[str, int], dict[str, Any]] = {}
    repeats: list[dict[str, Any]] = []
    for row in rows:
        if row["channel"] != Channel.ONLINE or not row["device_id"]:
            continue
        pair = (row["device_id"], row["unit_id"])
        if pair in candidates:
            repeats.append(row)  # the same device twice in one batch: the first one counts
        else:
            candidates[pair] = row
    if not candidates:
        return []
    # Sorted, so concurrent batches take the claim rows' locks in the same order (no deadlock).
    claims = [{"device_id": d, "unit_id": u, "response_uuid": candidates[(d, u)]["uuid"]}
              for d, u in sorted(candidates)]
    won = set(fastsql.run(conn, _claim_statement(insert), claims))
    repeats.extend(row for pair, row in candidates.items() if pair not in won)
    if repeats:
        for row in repeats:
            row["is_repeat"] = True
            row["flags"] = [*row["flags"], REPEAT_DEVICE]
        conn.execute(
            update(Response).where(Response.id == bindparam("rid"))
            .values(is_repeat=True, flags=bindparam("new_flags")),
            [{"rid": new_ids[r["uuid"]], "new_flags": r["flags"]} for r in repeats])
    return repeats
