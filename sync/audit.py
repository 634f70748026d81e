"""The append-only audit log: who changed what, when, from what to what.

Every admin and secretary change writes one row through `record()` in the same transaction as the
change itself, so a change never lands without its row (nor a row without its change). Nothing in
the code updates or deletes a row, and a database trigger refuses it on both stores; the only
update allowed is the foreign key's own ON DELETE SET NULL when an account is deleted (the copied
`actor_name` keeps saying who it was).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DDL, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, User, utcnow

#: Longest stored IP text (an IPv6 address with zone id fits).
IP_LENGTH = 64


class AuditEntry(Base):
    """One audited change. Rows are only ever inserted."""

    __tablename__ = "audit_log"
    __table_args__ = (
        # Filters read newest first by id (keyset pagination) within one actor/action/campaign.
        Index("ix_audit_log_campaign_id_id", "campaign_id", "id"),
        Index("ix_audit_log_actor_id_id", "actor_id", "id"),
        Index("ix_audit_log_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: server time (UTC) of the change
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the actor's username, copied so the entry still names them after the account is gone
    actor_name: Mapped[str | None] = mapped_column(String(100))
    #: what was done, "<target>.<verb>", e.g. "campaign.update", "link.revoke"
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    #: the campaign the change belongs to; not a foreign key: the log outlives what it describes
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    ip: Mapped[str | None] = mapped_column(String(IP_LENGTH))

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.target_type}:{self.target_id}>"


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a snapshot value: dates as ISO text, enums as their values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(obj: Any, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of a model object as a JSON-safe dict, for `before`/`after`."""
    return {name: jsonable(getattr(obj, name)) for name in fields}


def record(session: Session, *, actor: User | None, action: str, target_type: str,
           target_id: object = None, campaign_id: int | None = None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           ip: str | None = None) -> AuditEntry:
    """Add an audit row to the session; the caller commits it together with the change."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.username if actor is not None else None,
        action=action, target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        campaign_id=campaign_id,
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        ip=(ip or None) and ip[:IP_LENGTH])
    session.add(entry)
    return entry


# --- append-only triggers (the migration creates the same ones) ---------------------------------

APPEND_ONLY_MESSAGE = "audit_log is append-only"

#: PostgreSQL: refuse UPDATE and DELETE, except the FK's SET NULL of actor_id alone.
PG_APPEND_ONLY = [
    f"""CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
       AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql""",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]

_SQLITE_UNCHANGED = " AND ".join(
    f"NEW.{c} IS OLD.{c}" for c in ("id", "at", "actor_name", "action", "target_type",
                                     "target_id", "campaign_id", "before", "after", "ip"))

#: SQLite: the same rule with RAISE(ABORT).
SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    f"WHEN NOT (OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL AND {_SQLITE_UNCHANGED}) "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
]

for _statement in PG_APPEND_ONLY:
    event.listen(AuditEntry.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="postgresql"))
for _statement in SQLITE_APPEND_ONLY:
    event.listen(AuditEntry.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="sqlite"))
