"""Poster mode's "one device counts once per unit", decided exactly once, also under concurrency.

The first poster (线上评议) rating a device makes for a unit claims the (device, unit) pair with an
insert-if-absent on the claim table's primary key, in the same transaction as the rating: whoever
inserts the claim counts; every later rating for the pair, in the same batch, a concurrent one or
on another host, finds it taken and is a repeat (kept, flagged, left out of tallies). A key, not a
read, decides, so two batches racing on PostgreSQL cannot both count (the second waits for the
first's claim to commit or roll back).

Late uploads (sync.integrity.receipts) are let in by a form receipt, which is not tied to one
rating: whoever fetched one before a poster link was revoked could otherwise upload any number of
ratings under new ids and new device ids for 30 days. So a late poster rating also claims its
(receipt, unit) pair the same way, keyed by the receipt as signed (link id, issued-at in ms): the
first counts, the rest are `repeat_receipt`. Visit links are exempt (field staff legitimately
rate a day's households from one opened form), and a rating on time claims nothing (no statement).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Connection, ForeignKey, String, bindparam, update
from sqlalchemy.orm import Mapped, mapped_column

from .. import fastsql
from ..models import Base, Channel, Response

REPEAT_DEVICE = "repeat_device"
#: a late poster rating whose form receipt already counted for the unit (同一表单回执重复提交)
REPEAT_RECEIPT = "repeat_receipt"


class DeviceUnitClaim(Base):
    """The rating that counts for a (device, unit) pair on posters."""

    __tablename__ = "device_unit_claims"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"),
                                         primary_key=True)
    #: the response that holds the claim (the one that counts)
    response_uuid: Mapped[str] = mapped_column(String(36))


class ReceiptUnitClaim(Base):
    """The late poster rating that counts for a (form receipt, unit) pair."""

    __tablename__ = "receipt_unit_claims"

    #: the receipt's signed payload: link id and issued-at (ms since the epoch)
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"),
                                         primary_key=True)
    issued_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"),
                                         primary_key=True)
    #: the response that holds the claim (the one that counts)
    response_uuid: Mapped[str] = mapped_column(String(36))


def _key_names(table: type[Base]) -> tuple[str, ...]:
    """The claim table's primary key columns, in order (a claim's key gives their values)."""
    return tuple(c.name for c in table.__table__.primary_key.columns)


@cache
def _claim_statement(insert: Any, table: type[Base]) -> Any:
    """A claim INSERT, built once per dialect and table (a sync batch then only binds its rows)."""
    names = _key_names(table)
    return (insert(table).on_conflict_do_nothing(index_elements=list(names))
            .returning(*(table.__table__.c[name] for name in names)))


def _claim(conn: Connection, insert: Any, table: type[Base], rows: list[dict[str, Any]],
           key: Callable[[dict[str, Any]], tuple[Hashable, ...]]) -> list[dict[str, Any]]:
    """Claim `key(row)` (the values of `table`'s key columns) for each row, the first in request
    order winning; return the rows that lost, to a claim already held or to an earlier row."""
    names = _key_names(table)
    candidates: dict[tuple[Hashable, ...], dict[str, Any]] = {}
    lost: list[dict[str, Any]] = []
    for row in rows:
        pair = key(row)
        if pair in candidates:
            lost.append(row)  # the same key twice in one batch: the first one counts
        else:
            candidates[pair] = row
    if not candidates:
        return []
    # Sorted, so concurrent batches take the claim rows' locks in the same order (no deadlock).
    claims = [{**dict(zip(names, pair, strict=True)), "response_uuid": candidates[pair]["uuid"]}
              for pair in sorted(candidates)]  # type: ignore[type-var]
    won = set(fastsql.run(conn, _claim_statement(insert, table), claims))
    lost.extend(row for pair, row in candidates.items() if pair not in won)
    return lost


def claim_first_ratings(conn: Connection, insert: Any, rows: list[dict[str, Any]],
                        new_ids: dict[str, int],
                        late_receipts: Mapping[str, tuple[int, int]] | None = None,
                        ) -> list[dict[str, Any]]:
    """Claim (device, unit), and for late uploads (receipt, unit), for the poster rows just
    inserted; flag the ones that lost.

    `rows` are the inserted response rows in request order, `new_ids` their ids by uuid,
    `late_receipts` the (link id, issued ms) of the late ones' receipts by uuid, `insert` the
    dialect's INSERT (it knows ON CONFLICT). Runs inside the batch's write transaction: one
    INSERT … ON CONFLICT DO NOTHING RETURNING per kind of claim (receipts only for late
    uploads), plus one UPDATE only when there are repeats. Mutates and returns the repeat rows
    (`is_repeat`, `flags`), so later steps see the outcome.
    """
    posters = [row for row in rows if row["channel"] == Channel.ONLINE]
    repeats = _claim(conn, insert, DeviceUnitClaim, [row for row in posters if row["device_id"]],
                     lambda row: (row["device_id"], row["unit_id"]))
    _flag(repeats, REPEAT_DEVICE)
    if late_receipts:
        # A repeat from the device does not count anyway: it leaves the receipt to the others.
        # (A receipt repeat keeps any device claim it won: its device's later ratings of the
        # unit are repeats, as they would be had it counted.)
        lost = {row["uuid"] for row in repeats}
        late = [row for row in posters if row["uuid"] in late_receipts
                and row["uuid"] not in lost]
        by_receipt = _claim(conn, insert, ReceiptUnitClaim, late,
                            lambda row: (*late_receipts[row["uuid"]], row["unit_id"]))
        _flag(by_receipt, REPEAT_RECEIPT)
        repeats.extend(by_receipt)
    if repeats:
        conn.execute(
            update(Response).where(Response.id == bindparam("rid"))
            .values(is_repeat=True, flags=bindparam("new_flags")),
            [{"rid": new_ids[r["uuid"]], "new_flags": r["flags"]} for r in repeats])
    return repeats


def _flag(rows: list[dict[str, Any]], flag: str) -> None:
    for row in rows:
        row["is_repeat"] = True
        row["flags"] = [*row["flags"], flag]
