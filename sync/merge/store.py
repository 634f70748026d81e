"""Insert-if-absent a batch's validated responses in one write transaction, exactly once.

Each response is stored by one INSERT … ON CONFLICT DO NOTHING RETURNING on its UUID, never by
reading first and writing after; the hot statements run straight on the driver (sync.fastsql).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from .. import fastsql
from ..followups.intake import store_intake
from ..integrity.repeats import claim_first_ratings
from ..link_cache import version_query
from ..models import Answer, Channel, Conflict, Response
from ..push.outbox import enqueue_pushes
from ..reports.totals import apply_delta, count_new_ratings
from ..versions import apply_versions, lock_device
from .prepare import CONFLICT, DUPLICATE, REJECTED, STORED, PreparedResponse


def _insert(conn: Connection):  # type: ignore[no-untyped-def]
    """The dialect's INSERT, which knows ON CONFLICT."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def _skip_known(insert: Any) -> Any:
    """Finish the responses' INSERT (sync.fastsql.insert_values).

    No conflict target: skips a known uuid and a pool rater's second rating of a unit. Its
    RETURNING names the rows really inserted and reads the config version: the batch's cache
    check costs no statement.
    """
    return (insert.on_conflict_do_nothing()
            .returning(Response.id, Response.uuid, version_query()))


def store_batch(conn: Connection,
                items: list[PreparedResponse]) -> tuple[dict[int, str], int | None]:
    """Insert-if-absent every item in `conn`'s transaction.

    Returns the status by id(item), and the config version read by the insert (None when it
    inserted nothing). New counted ratings enter the running totals in the same transaction.
    """
    insert = _insert(conn)
    statuses: dict[int, str] = {}
    first_by_uuid: dict[str, PreparedResponse] = {}
    repeats: list[PreparedResponse] = []
    for item in items:
        if item.uuid in first_by_uuid:
            repeats.append(item)  # same id twice in one batch: judged against the first copy
        else:
            first_by_uuid[item.uuid] = item
    # Sorted so that concurrent batches with overlapping ids lock rows in the same order
    # (PostgreSQL would otherwise detect a deadlock between them).
    firsts = sorted(first_by_uuid.values(), key=lambda i: i.uuid)
    order = {uuid: n for n, uuid in enumerate(first_by_uuid)}

    # Only visit-type links take corrections and voids: a poster batch pays no extra statement.
    versionable = [i for i in firsts if i.row["channel"] != Channel.ONLINE]
    if versionable:
        lock_device(conn, firsts[0].row["device_id"])  # one device per batch
    # Straight on the driver (sync.fastsql); RETURNING names the rows really inserted.
    returned = fastsql.insert_values(conn, Response.__table__, [i.row for i in firsts],
                                     _skip_known)
    new_ids = {uuid: rid for rid, uuid, _ in returned}
    version = (returned[0][2] or 0) if returned else None
    answer_rows = [
        {**answer, "response_id": new_ids[item.uuid]}
        for item in firsts if item.uuid in new_ids for answer in item.answers
    ]
    fastsql.insert_values(conn, Answer.__table__, answer_rows)
    store_intake(conn, [(new_ids[i.uuid], i.follow_up, i.contact)
                        for i in firsts if i.uuid in new_ids])
    inserted = [i.row for i in firsts if i.uuid in new_ids]
    inserted.sort(key=lambda row: order[row["uuid"]])  # request order: the first one counts
    late_receipts = {i.uuid: i.late_receipt for i in firsts if i.late_receipt is not None}
    repeated = claim_first_ratings(conn, insert, inserted, new_ids, late_receipts)
    counting = set(new_ids.values()) - {new_ids[r["uuid"]] for r in repeated}
    if versionable:  # corrections and voids (visit links): what stops counting, old and new
        silent, replaced = apply_versions(
            conn, [(new_ids[i.uuid], i.row) for i in versionable if i.uuid in new_ids],
            set(new_ids.values()))
        counting -= silent
        apply_delta(conn, replaced, -1)
    if len(counting) == 1:  # a poster rating: its dozen cells summed here, one upsert
        count_new_ratings(conn, [(i.row, i.answers) for i in firsts
                                 if new_ids.get(i.uuid) in counting])
    else:  # a field worker's queue: summed by the store, one INSERT … SELECT
        apply_delta(conn, counting, 1)
    pushed = [new_ids[i.uuid] for i in firsts if i.push and i.uuid in new_ids]
    if pushed:  # only campaigns with a webhook pay for the outbox row
        enqueue_pushes(conn, pushed)

    existing = [i.uuid for i in firsts if i.uuid not in new_ids]
    stored_hash = dict(conn.execute(
        select(Response.uuid, Response.content_hash).where(Response.uuid.in_(existing))
    ).all()) if existing else {}
    stored_hash.update({i.uuid: i.content_hash for i in firsts if i.uuid in new_ids})

    conflicts = []
    for item in firsts + repeats:
        if item.uuid in new_ids and first_by_uuid[item.uuid] is item:
            statuses[id(item)] = STORED
        elif item.uuid not in stored_hash:  # skipped by the (rater, unit) constraint
            statuses[id(item)] = REJECTED
        elif stored_hash[item.uuid] == item.content_hash:
            statuses[id(item)] = DUPLICATE
        else:
            statuses[id(item)] = CONFLICT
            conflicts.append({"uuid": item.uuid, "content_hash": item.content_hash,
                              "device_id": item.row["device_id"], "payload": item.raw,
                              "received_at": item.row["received_at"]})
    if conflicts:
        conflicts.sort(key=lambda c: (c["uuid"], c["content_hash"]))
        conn.execute(insert(Conflict).on_conflict_do_nothing(
            index_elements=["uuid", "content_hash"]), conflicts)
    return statuses, version
