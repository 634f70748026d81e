"""The durable outbox of rating pushes: enqueue with the rating, claim, sign, deliver, retry.

A rating's outbox row is written by the same transaction that stores the rating, so a stored
rating is always pushed eventually and a restart loses nothing. Workers on any number of hosts
claim a row with one conditional UPDATE (a lease), never by reading first; delivery is at least
once, and the receiver drops repeats by the idempotency key (the rating's UUID).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, and_, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from ..db import write_transaction
from ..models import Answer, Campaign, QuestionnaireItem, Response, ScaleLevel, Unit
from .models import DEAD, DELIVERED, PENDING, OutboxEntry, Webhook

#: attempts before an entry goes to the dead-letter list
MAX_ATTEMPTS = 8
#: first retry delay; doubles per attempt up to MAX_BACKOFF
BASE_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(seconds=60)
SIGNATURE_HEADER = "X-Pingyi-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def enqueue_pushes(conn: Connection, response_ids: Collection[int]) -> None:
    """Queue newly stored ratings of campaigns with an enabled webhook: one INSERT … SELECT.

    Called inside the merge's write transaction, so the rating and its push commit together.
    """
    if not response_ids:
        return
    now = _now()
    rows = (
        select(Response.id, Response.campaign_id, literal(PENDING), literal(0), literal(now),
               literal(now))
        .join(Webhook, and_(Webhook.campaign_id == Response.campaign_id,
                            Webhook.enabled.is_(True)))
        .where(Response.id.in_(sorted(response_ids)))
    )
    conn.execute(insert(OutboxEntry).from_select(
        ["response_id", "campaign_id", "status", "attempts", "next_attempt_at", "created_at"],
        rows))


def webhook_state(hook: Webhook | None) -> dict[str, object] | None:
    """A webhook's audited state (never its secret), or None when there is none."""
    return {"url": hook.url, "enabled": hook.enabled} if hook is not None else None


def change_webhook(session: Session, campaign: Campaign, url: str | None, secret: str | None,
                   ) -> tuple[Webhook | None, dict[str, object] | None, dict[str, object] | None]:
    """`set_webhook`, with the audit row's (before, after); after says whether the secret
    changed, never what it is.

    :raise ValueError: as set_webhook.
    """
    hook = session.get(Webhook, campaign.id)
    before, secret_before = webhook_state(hook), hook.secret if hook else None
    saved = set_webhook(session, campaign, url, secret)
    after = webhook_state(saved)
    if saved is not None and after is not None:
        after["secret_changed"] = saved.secret != secret_before
    return saved, before, after


def set_webhook(session: Session, campaign: Campaign, url: str | None, secret: str | None,
                enabled: bool = True) -> Webhook | None:
    """Configure (or with url None, disable) a campaign's webhook."""
    hook = session.get(Webhook, campaign.id)
    if url is None:
        if hook is not None:
            hook.enabled = False
        return hook
    if not url.startswith(("http://", "https://")):
        raise ValueError("推送地址必须以 http:// 或 https:// 开头。")
    if not secret or len(secret) < 16:
        raise ValueError("签名密钥至少 16 个字符。")
    if hook is None:
        hook = Webhook(campaign_id=campaign.id, url=url, secret=secret, enabled=enabled)
        session.add(hook)
    else:
        hook.url, hook.secret, hook.enabled = url, secret, enabled
    return hook


def claim_next(session: Session, now: datetime | None = None,
               lease: timedelta = LEASE) -> int | None:
    """Take the lease on one due entry and return its id, or None when nothing is due.

    One UPDATE with the due condition repeated in its WHERE: even if two workers chose the same
    row, only the one whose UPDATE still finds it due gets it (PostgreSQL re-checks the WHERE
    on the locked row; SQLite runs writers one at a time).
    """
    now = now or _now()
    due = and_(OutboxEntry.status == PENDING, OutboxEntry.next_attempt_at <= now,
               or_(OutboxEntry.lease_until.is_(None), OutboxEntry.lease_until < now))
    # SKIP LOCKED (PostgreSQL; SQLite has one writer anyway) lets concurrent workers each
    # pick a different row instead of queueing behind the same one.
    candidate = (select(OutboxEntry.id).where(due)
                 .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id).limit(1)
                 .with_for_update(skip_locked=True).scalar_subquery())
    with write_transaction(session):
        return session.execute(
            update(OutboxEntry).where(OutboxEntry.id == candidate, due)
            .values(lease_until=now + lease, attempts=OutboxEntry.attempts + 1)
            .returning(OutboxEntry.id)).scalar()


def rating_payload(session: Session, response_id: int) -> dict[str, Any]:
    """The rating as pushed: what was rated and how, never who rated (no device, rater, meta)."""
    response = session.get(Response, response_id)
    assert response is not None
    unit = session.get(Unit, response.unit_id)
    assert unit is not None
    answers = session.execute(
        select(QuestionnaireItem.key, QuestionnaireItem.label, ScaleLevel.key, ScaleLevel.label,
               Answer.score)
        .join(QuestionnaireItem, QuestionnaireItem.id == Answer.item_id)
        .join(ScaleLevel, ScaleLevel.id == Answer.level_id)
        .where(Answer.response_id == response_id).order_by(QuestionnaireItem.position)).all()
    return {
        "id": response.uuid,
        "campaign": response.campaign_id,
        "unit": {"code": unit.code, "name": unit.name},
        "channel": response.channel.value,
        "created_at": response.created_at.isoformat(),
        "received_at": response.received_at.isoformat(),
        "answers": [{"item": k, "item_label": kl, "level": lk, "level_label": ll, "score": sc}
                    for k, kl, lk, ll, sc in answers],
        "identity": response.identity_key,
        "comment": response.comment,
    }


def sign(secret: str, body: bytes) -> str:
    """The signature header value: sha256=<hex HMAC-SHA256 of the exact body bytes>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    """What a sender needs: where, the exact bytes, and the headers."""

    url: str
    body: bytes
    headers: dict[str, str]


#: sends one delivery; returns the HTTP status (raises OSError on a network failure)
Sender = Callable[[Delivery], int]


def build_delivery(session: Session, entry: OutboxEntry) -> Delivery | None:
    hook = session.get(Webhook, entry.campaign_id)
    if hook is None or not hook.enabled:
        return None
    payload = rating_payload(session, entry.response_id)
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return Delivery(hook.url, body, {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(hook.secret, body),
        IDEMPOTENCY_HEADER: payload["id"],
    })


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed ones: 5 s, 10 s, 20 s … up to 1 h."""
    return min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def deliver_one(session: Session, entry_id: int, send: Sender,
                now: datetime | None = None) -> str:
    """Push a claimed entry once and record the outcome; return its new status."""
    entry = session.get(OutboxEntry, entry_id)
    assert entry is not None
    delivery = build_delivery(session, entry)
    attempts = entry.attempts
    session.commit()  # no transaction stays open while the receiver answers
    error: str | None
    if delivery is None:
        error = "推送未配置或已停用"
    else:
        try:
            status = send(delivery)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
    now = now or _now()
    outcome: dict[str, Any]
    if error is None:
        outcome = {"status": DELIVERED, "delivered_at": now, "last_error": None}
    elif attempts >= MAX_ATTEMPTS:
        outcome = {"status": DEAD, "last_error": error}
    else:
        outcome = {"next_attempt_at": now + backoff(attempts), "last_error": error}
    with write_transaction(session):
        session.execute(update(OutboxEntry).where(OutboxEntry.id == entry_id)
                        .values(lease_until=None, **outcome))
    return str(outcome.get("status", PENDING))


def deliver_due(session: Session, send: Sender, limit: int = 100,
                now: datetime | None = None) -> int:
    """Claim and deliver due entries until none is left (or `limit`); return how many ran.

    `now` (server time by default) lets tests step through the backoff without sleeping.
    """
    done = 0
    while done < limit:
        entry_id = claim_next(session, now)
        if entry_id is None:
            break
        deliver_one(session, entry_id, send, now)
        done += 1
    return done


def resend(session: Session, entry_ids: Collection[int]) -> int:
    """Put dead entries back in the queue for an immediate try; return how many."""
    with write_transaction(session):
        result = session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id.in_(list(entry_ids)), OutboxEntry.status == DEAD)
            .values(status=PENDING, attempts=0, next_attempt_at=_now(), lease_until=None))
    return result.rowcount  # type: ignore[attr-defined, no-any-return]


@dataclass(frozen=True)
class DeadLetter:
    id: int
    response_uuid: str
    unit_name: str
    attempts: int
    last_error: str | None
    created_at: datetime


def dead_letters(session: Session, campaign_id: int, limit: int = 200) -> list[DeadLetter]:
    rows = session.execute(
        select(OutboxEntry.id, Response.uuid, Unit.name, OutboxEntry.attempts,
               OutboxEntry.last_error, OutboxEntry.created_at)
        .join(Response, Response.id == OutboxEntry.response_id)
        .join(Unit, Unit.id == Response.unit_id)
        .where(OutboxEntry.campaign_id == campaign_id, OutboxEntry.status == DEAD)
        .order_by(OutboxEntry.id).limit(limit)).all()
    return [DeadLetter(*row) for row in rows]


def outbox_counts(session: Session, campaign_id: int) -> dict[str, int]:
    counts = dict.fromkeys((PENDING, DELIVERED, DEAD), 0)
    counts.update({status: n for status, n in session.execute(
        select(OutboxEntry.status, func.count()).where(OutboxEntry.campaign_id == campaign_id)
        .group_by(OutboxEntry.status)).all()})
    return counts
