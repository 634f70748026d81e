"""Validate, dedupe and merge a batch of responses into the store, exactly once per UUID.

Each response is stored by one insert-if-absent statement on its UUID (ON CONFLICT DO NOTHING …
RETURNING), never by reading first and writing after, so retries, duplicates and two phones
syncing at once cannot double a rating. A content hash tells a harmless resend (`duplicate`) from
a different answer under a known id (`conflict`, kept whole in the conflicts table).

Access is decided by server time and server-signed data (sync.integrity.receipts); whether a poster
rating is a device's repeat by a claim key (sync.integrity.repeats).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from qr.links import LinkSigner

from ..db import write_connection
from ..integrity.repeats import REPEAT_DEVICE, REPEAT_RECEIPT
from ..link_cache import LinkCache, LinkView, read_version
from .prepare import (
    CONFLICT,
    DUPLICATE,
    RATER_UNIT_DONE,
    REJECTED,
    STORED,
    BatchError,
    ItemRejected,
    ItemResult,
    PreparedResponse,
    Preparer,
    QuestionnaireIndex,
    content_hash,
    echo_id,
    load_item,
    parse_envelope,
    prepare_all,
)
from .store import store_batch

__all__ = ["CONFLICT", "DUPLICATE", "REJECTED", "REPEAT_DEVICE", "REPEAT_RECEIPT", "STORED",
           "BatchError", "ItemResult", "QuestionnaireIndex", "StoreBusy", "content_hash", "echo_id",
           "merge_batch", "parse_envelope"]


class StoreBusy(Exception):
    """Deadlocked or overtaken again and again: nothing was stored; the phone retries later."""


class _StaleCache(Exception):
    """The store's config version moved since the cache was filled: undo and run again."""


#: deadlock detected, serialization failure
_RETRYABLE = ("40P01", "40001")


def merge_batch(
    session: Session, signer: LinkSigner, body: object, now: datetime | None = None,
    client_ip: str | None = None, cache: LinkCache | None = None,
) -> list[ItemResult]:
    """Validate and store a sync body; return one result per item, in request order.

    Valid items are stored even when others are rejected. Everything after the shape checks
    runs in one write transaction, so a crash leaves either every stored item of the batch or
    none (the phone then retries). `now` is the server's receive time (the clock every access
    decision uses); `cache` is the worker's LinkCache (a fresh one by default).

    :raise BatchError: the body as a whole is unusable.
    """
    device_id, raw_items = parse_envelope(body)
    loaded: list[dict[str, Any] | ItemRejected] = []
    for raw in raw_items:
        try:
            loaded.append(load_item(raw))
        except ItemRejected as exc:
            loaded.append(exc)
    cache = cache or LinkCache()
    now = now or datetime.now(timezone.utc)
    _end_read(session)
    engine = session.get_bind()
    # Corrections and voids read the rating they replace: always checked under the write lock.
    corrects = any(isinstance(d, dict) and d.get("replaces") for d in loaded)
    for attempt in range(8):
        # First, optimistically, validation runs before the write transaction against the
        # worker's cache, so the store's write lock is held for the INSERTs alone. After an
        # admin change spoiled that, validation runs inside the transaction, with the config
        # version pinned (a share lock on PostgreSQL, the write lock on SQLite): it cannot fail
        # again, however busy the admins are.
        locked = attempt > 0 or corrects
        try:
            if not locked:
                with Session(engine) as reads:
                    view, results, prepared = _validate(reads, cache, signer, device_id, now,
                                                        client_ip, raw_items, loaded)
            with write_connection(engine) as conn:
                if locked:
                    cache.confirm(cache.version, read_version(conn, pin=True))
                    with Session(bind=conn) as reads:
                        view, results, prepared = _validate(reads, cache, signer, device_id,
                                                            now, client_ip, raw_items, loaded)
                valid = [p for p in prepared if p is not None]
                statuses, version = store_batch(conn, valid) if valid else ({}, None)
                # The cache was right if no admin change committed since it was filled.
                if not cache.confirm(view.version,
                                     read_version(conn) if version is None else version):
                    raise _StaleCache  # rolls the batch back; validate again
        except _StaleCache:
            continue
        except DBAPIError as exc:
            # PostgreSQL chose this batch as a deadlock victim: it was rolled back whole.
            if getattr(exc.orig, "sqlstate", None) not in _RETRYABLE:
                raise
            continue
        return _finish(results, prepared, statuses)
    raise StoreBusy("a sync batch could not be committed after several attempts")


def _validate(reads: Session, cache: LinkCache, signer: LinkSigner, device_id: str | None,
              now: datetime, client_ip: str | None, raw_items: list[Any],
              loaded: list[dict[str, Any] | ItemRejected],
              ) -> tuple[LinkView, list[ItemResult], list[PreparedResponse | None]]:
    """Check every item against the cache (`reads` loads what it misses)."""
    preparer = Preparer(cache.view(reads), signer, device_id, now)
    preparer.client_ip = client_ip
    preparer.session = reads
    return preparer.view, *prepare_all(preparer, raw_items, loaded)


def _end_read(session: Session) -> None:
    """Commit the caller's session if it is in a transaction: its pending work goes first, and
    it reads the batch's rows afterwards (on SQLite a read begun earlier would not)."""
    plain = session() if callable(session) else session  # a scoped_session's own session
    if plain.in_transaction():
        plain.commit()


def _finish(results: list[ItemResult], prepared: list[PreparedResponse | None],
            statuses: dict[int, str]) -> list[ItemResult]:
    for result, item in zip(results, prepared, strict=True):
        if item is not None:
            result.status = statuses[id(item)]
            if result.status == CONFLICT:
                result.error = "该编号的评议已保存过且内容不同，新内容已另存待核查。"
            elif result.status == REJECTED:
                result.error, result.code = RATER_UNIT_DONE, "rater_unit_done"
    return results
