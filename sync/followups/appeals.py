"""Appeals (申诉复核): a unit contests a rating as malicious or mistaken; an admin decides.

An upheld appeal excludes the rating through the integrity exclusions (kept, never deleted,
marked in the raw export). Filing and deciding are each one statement guarded by a constraint
or a condition, so two people acting at once cannot file twice or decide twice. Every step is
written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audit import record, snapshot
from ..db import write_transaction
from ..integrity.exclusions import exclude_response
from ..models import Response, Unit, User
from .models import Appeal, AppealDecision, AppealKind

AUDITED = ("kind", "reason", "evidence", "decision", "decision_reason", "decided_by_id")


class AppealError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def may_appeal(user: User, response: Response) -> bool:
    """A secretary of the rated unit (admins decide appeals; they do not file them)."""
    return not user.is_admin and any(u.id == response.unit_id for u in user.units)


def file_appeal(session: Session, response: Response, user: User, kind: AppealKind,
                reason: str, evidence: str | None, ip: str | None = None) -> Appeal:
    """File an appeal against a rating, in its own write transaction.

    :raise AppealError: not the rated unit's secretary, no reason, or already appealed.
    """
    if not may_appeal(user, response):
        raise AppealError("只有被评议单位的联络员可以对该评价提出申诉。")
    reason = (reason or "").strip()
    if not reason:
        raise AppealError("请写明申诉理由。")
    appeal = Appeal(response_id=response.id, campaign_id=response.campaign_id,
                    unit_id=response.unit_id, kind=kind, reason=reason,
                    evidence=(evidence or "").strip() or None, filed_by_id=user.id)
    with write_transaction(session):
        try:
            with session.begin_nested():  # one appeal per rating: the unique key decides a race
                session.add(appeal)
        except IntegrityError as exc:
            raise AppealError("该评价已提出过申诉，不能重复申诉。") from exc
        record(session, actor=user, action="appeal.file", target_type="appeal",
               target_id=appeal.id, campaign_id=appeal.campaign_id,
               after=snapshot(appeal, AUDITED) | {"response": response.uuid}, ip=ip)
    return appeal


def decide_appeal(session: Session, appeal: Appeal, admin: User, upheld: bool, reason: str,
                  ip: str | None = None) -> None:
    """Uphold (and exclude the rating) or reject an appeal, once, in its own write transaction.

    :raise AppealError: not an admin, no reason, or already decided.
    """
    if not admin.is_admin:
        raise AppealError("只有管理员可以复核申诉。")
    reason = (reason or "").strip()
    if not reason:
        raise AppealError("请写明复核理由。")
    decision = AppealDecision.UPHELD if upheld else AppealDecision.REJECTED
    with write_transaction(session):
        before = snapshot(appeal, AUDITED)
        changed: int = session.execute(  # type: ignore[attr-defined]
            update(Appeal)
            .where(Appeal.id == appeal.id, Appeal.decision == AppealDecision.PENDING)
            .values(decision=decision, decision_reason=reason, decided_by_id=admin.id,
                    decided_at=datetime.now(timezone.utc))
            .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            raise AppealError("该申诉已复核过。")
        session.refresh(appeal)
        record(session, actor=admin, action="appeal.decide", target_type="appeal",
               target_id=appeal.id, campaign_id=appeal.campaign_id, before=before,
               after=snapshot(appeal, AUDITED), ip=ip)
        response = session.get(Response, appeal.response_id)
        assert response is not None
        if upheld and response.excluded_at is None:
            exclude_response(session, response, reason=f"申诉复核成立：{reason}", actor=admin,
                             ip=ip)


def list_appeals(session: Session, campaign_id: int, unit_ids: list[int] | None = None,
                 decision: AppealDecision | None = None, limit: int = 200) -> list[Appeal]:
    """Appeals of a campaign, newest first."""
    query = select(Appeal).where(Appeal.campaign_id == campaign_id)
    if unit_ids is not None:
        query = query.where(Appeal.unit_id.in_(unit_ids))
    if decision is not None:
        query = query.where(Appeal.decision == decision)
    return list(session.scalars(query.order_by(Appeal.id.desc()).limit(limit)))


@dataclass(frozen=True)
class AppealCount:
    unit_id: int
    code: str
    name: str
    filed: int
    pending: int
    upheld: int
    rejected: int
    #: ratings the unit received, to see a unit that appeals everything
    ratings: int


def appeal_counts(session: Session, campaign_id: int) -> list[AppealCount]:
    """Appeals per unit with their outcomes, beside how many ratings the unit received."""
    ratings = dict(session.execute(
        select(Response.unit_id, func.count()).where(Response.campaign_id == campaign_id)
        .where(Response.unit_id.in_(select(Appeal.unit_id)
                                    .where(Appeal.campaign_id == campaign_id)))
        .group_by(Response.unit_id)).all())

    def n(decision: AppealDecision):  # type: ignore[no-untyped-def]
        return func.sum(case((Appeal.decision == decision, 1), else_=0))

    rows = session.execute(
        select(Unit.id, Unit.code, Unit.name, func.count(Appeal.id), n(AppealDecision.PENDING),
               n(AppealDecision.UPHELD), n(AppealDecision.REJECTED))
        .join(Appeal, Appeal.unit_id == Unit.id).where(Appeal.campaign_id == campaign_id)
        .group_by(Unit.id, Unit.code, Unit.name).order_by(func.count(Appeal.id).desc()))
    return [AppealCount(uid, code, name, filed, int(p or 0), int(u or 0), int(r or 0),
                        ratings.get(uid, 0))
            for uid, code, name, filed, p, u, r in rows]
