"""Excluding a rating from tallies, and taking it back: never a deletion, always audited.

Each change is one conditional UPDATE, so two admins clicking at once change the row (and the
running totals) only once; the loser is told the rating was already excluded or included.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..audit import AuditEntry, record
from ..models import Response, User, utcnow
from ..reports.filters import counted_unless_excluded
from ..reports.totals import apply_delta

#: Longest reason kept; a reason is a sentence or two, not a report.
MAX_REASON_LENGTH = 500


class ExclusionError(ValueError):
    """The change was refused; the message says why, in words an admin can act on."""


def _clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ExclusionError("请填写理由。")
    if len(reason) > MAX_REASON_LENGTH:
        raise ExclusionError(f"理由不能超过 {MAX_REASON_LENGTH} 字。")
    return reason


def _state(response: Response) -> dict[str, object]:
    return {"excluded": response.excluded_at is not None,
            "reason": response.exclusion_reason}


def _counts_but_for_exclusion(session: Session, response: Response) -> bool:
    """Whether the rating counts when not excluded (sync.reports.filters.counted_unless_excluded):
    a repeat, a void or a version a later one replaced never counted, so its exclusion moves no
    total. Read after the caller's UPDATE, under its row lock."""
    return bool(session.scalar(select(counted_unless_excluded())
                               .where(Response.id == response.id)))


def exclude_response(session: Session, response: Response, *, reason: str,
                     actor: User | None, ip: str | None = None) -> AuditEntry:
    """Stop counting a rating in tallies; it stays stored and exported, marked excluded.

    The caller commits.
    :raise ExclusionError: no reason, or the rating is already excluded.
    """
    reason = _clean_reason(reason)
    before = _state(response)
    changed = session.execute(
        update(Response)
        .where(Response.id == response.id, Response.excluded_at.is_(None))
        .values(excluded_at=utcnow(), exclusion_reason=reason,
                excluded_by_id=actor.id if actor is not None else None)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise ExclusionError("这条评议结果已被剔除。")
    session.refresh(response)  # under the row lock: a correction cannot supersede it meanwhile
    if _counts_but_for_exclusion(session, response):
        apply_delta(session, [response.id], -1)
    return record(session, actor=actor, action="response.exclude", target_type="response",
                  target_id=response.uuid, campaign_id=response.campaign_id,
                  before=before, after=_state(response), ip=ip)


def include_response(session: Session, response: Response, *, reason: str,
                     actor: User | None, ip: str | None = None) -> AuditEntry:
    """Count an excluded rating again; the reason for taking it back is kept in the audit log.

    The caller commits.
    :raise ExclusionError: no reason, or the rating is not excluded.
    """
    reason = _clean_reason(reason)
    before = _state(response)
    changed = session.execute(
        update(Response)
        .where(Response.id == response.id, Response.excluded_at.is_not(None))
        .values(excluded_at=None, exclusion_reason=None, excluded_by_id=None)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise ExclusionError("这条评议结果未被剔除，无需恢复。")
    session.refresh(response)
    if _counts_but_for_exclusion(session, response):
        apply_delta(session, [response.id], 1)
    return record(session, actor=actor, action="response.include", target_type="response",
                  target_id=response.uuid, campaign_id=response.campaign_id,
                  before=before, after={**_state(response), "include_reason": reason}, ip=ip)
