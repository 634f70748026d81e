"""The append-only audit log: who changed what, when, from what to what.

Every admin and secretary change writes one row through `record()` in the same transaction as the
change itself, so a change never lands without its row (nor a row without its change). Nothing in
the code updates or deletes a row, and a database trigger refuses it on both stores; the only
update allowed is the foreign key's own ON DELETE SET NULL when an account is deleted (the copied
`actor_name` keeps saying who it was).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DDL, ForeignKey, Index, Integer, String, event, select
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


CAMPAIGN_FIELDS = ("title", "year", "status", "opens_on", "closes_on", "supervision_phone",
                   "bottom_n", "min_seconds")
CATEGORY_FIELDS = ("name",)
UNIT_FIELDS = ("code", "name", "category_id")
VISIT_FIELDS = ("place", "staff_name", "visit_date")
FOLLOW_UP_FIELDS = ("status", "reply", "due_on", "closed_on", "owner_unit_id")


def link_snapshot(link: Any) -> dict[str, Any]:
    return {**snapshot(link, ("purpose", "channel", "visit_id", "max_age", "revoked_at",
                              "replaced_by_id")),
            "units": [u.code for u in link.units]}


def account_snapshot(user: User) -> dict[str, Any]:
    """An account without its password hash (a password change shows as a flag only)."""
    return {**snapshot(user, ("username", "role", "display_name")),
            "unit_ids": sorted(u.id for u in user.units)}


def questionnaire_snapshot(questionnaire: Any) -> dict[str, Any]:
    return {**snapshot(questionnaire, ("id", "version", "title", "comment_label",
                                       "identity_required")),
            "items": [[i.key, i.label, i.required] for i in questionnaire.items]}


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


# --- reading the log ------------------------------------------------------------------------------

#: what each action means, for the log page's filter and rows
ACTION_LABELS = {
    "campaign.create": "新建评议活动",
    "campaign.update": "修改评议活动",
    "category.create": "新增类别",
    "category.update": "修改类别",
    "unit.create": "新增评议对象",
    "unit.update": "修改评议对象",
    "unit.delete": "删除评议对象",
    "unit.archive": "归档评议对象",
    "unit.restore": "取消归档评议对象",
    "category.delete": "删除类别",
    "category.archive": "归档类别",
    "category.restore": "取消归档类别",
    "unit_sheet.import": "导入单位名单",
    "questionnaire.update": "修改问卷",
    "questionnaire.template": "改用问卷模板",
    "link.create": "生成链接",
    "link.create_posters": "批量生成海报链接",
    "link.revoke": "撤销链接",
    "link.reissue": "重新生成链接",
    "visit.create": "新增走访",
    "account.create": "新建账号",
    "account.update": "修改账号",
    "follow_up.update": "办理意见建议",
    "follow_up.extend": "批准整改延期",
    "follow_up.reopen": "回访不满意重新办理",
    "campaign.followup_settings": "修改整改与公示设置",
    "contact.export": "导出含联系电话的回访名单",
    "appeal.file": "提出申诉",
    "appeal.decide": "复核申诉",
    "paper.key": "录入纸质问卷",
    "paper.stage": "双人录入纸质问卷",
    "paper.merge_agreed": "提交双人录入一致的问卷",
    "response.exclude": "剔除评议结果",
    "response.include": "恢复计入评议结果",
    "queue.import": "导入离线数据",
    "export.download": "导出数据",
    "export.cli": "命令行导出",
    "posters.download": "下载海报或评议卡",
    "programme.update": "修改评议方案",
    "method_scores.import": "导入测评方式得分",
    "deduction.create": "新增减分",
    "deduction.withdraw": "撤销减分",
    "pool.import": "导入样本库",
    "pool.draw": "抽取样本",
    "webhook.update": "修改推送设置",
    "push.resend": "重新推送",
}

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditQuery:
    """Filters for the log page; every one narrows an indexed column."""

    actor_id: int | None = None
    action: str | None = None
    campaign_id: int | None = None
    since: datetime | None = None  # inclusive, UTC
    until: datetime | None = None  # exclusive, UTC


def list_entries(session: Session, query: AuditQuery, before_id: int | None = None,
                 limit: int = PAGE_SIZE) -> list[AuditEntry]:
    """Newest first, `limit` rows older than `before_id` (keyset pagination on the key)."""
    stmt = select(AuditEntry)
    if query.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == query.actor_id)
    if query.action:
        stmt = stmt.where(AuditEntry.action == query.action)
    if query.campaign_id is not None:
        stmt = stmt.where(AuditEntry.campaign_id == query.campaign_id)
    if query.since is not None:
        stmt = stmt.where(AuditEntry.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditEntry.at < query.until)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    return list(session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)))


def changed_fields(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field the entry changed (all of them for a creation)."""
    before, after = entry.before or {}, entry.after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


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
