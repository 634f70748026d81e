"""Follow-ups (整改台账): a work record per comment, made lazily on first edit.

A comment without a record counts as 待处理, so listing never writes and a new comment needs no
extra step on the merge path.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from .models import FollowUp, FollowUpStatus, Response, Unit, User

PAGE_SIZE = 50


@dataclass(frozen=True)
class CommentRow:
    """One comment with its follow-up state, for the list page."""

    response_id: int
    created_at: datetime
    unit_code: str
    unit_name: str
    comment: str
    status: FollowUpStatus
    owner_unit_name: str
    reply: str | None
    due_on: date | None
    closed_on: date | None


def _comments_query(campaign_id: int, unit_ids: Collection[int] | None,
                    status: FollowUpStatus | None) -> Select:
    rated = aliased(Unit)
    owner = aliased(Unit)
    effective_status = func.coalesce(FollowUp.status, FollowUpStatus.PENDING.value)
    query = (
        select(Response.id, Response.created_at, rated.code, rated.name, Response.comment,
               effective_status, func.coalesce(owner.name, rated.name), FollowUp.reply,
               FollowUp.due_on, FollowUp.closed_on)
        .join(rated, rated.id == Response.unit_id)
        .outerjoin(FollowUp, FollowUp.response_id == Response.id)
        .outerjoin(owner, owner.id == FollowUp.owner_unit_id)
        .where(Response.campaign_id == campaign_id, Response.comment.is_not(None),
               Response.comment != "")
    )
    if unit_ids is not None:  # a secretary: comments on their units or handed to them
        query = query.where(or_(Response.unit_id.in_(unit_ids),
                                FollowUp.owner_unit_id.in_(unit_ids)))
    if status is not None:
        query = query.where(effective_status == status.value)
    return query


def list_comments(session: Session, campaign_id: int, unit_ids: Collection[int] | None = None,
                  status: FollowUpStatus | None = None, page: int = 1,
                  page_size: int = PAGE_SIZE) -> tuple[int, list[CommentRow]]:
    """Return (total, one page of comments), newest first; `unit_ids` None means every unit."""
    query = _comments_query(campaign_id, unit_ids, status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Response.created_at.desc(), Response.id.desc())
                           .offset((max(page, 1) - 1) * page_size).limit(page_size)).all()
    return total, [CommentRow(r[0], r[1], r[2], r[3], r[4], FollowUpStatus(r[5]), r[6], r[7],
                              r[8], r[9]) for r in rows]


def can_handle(user: User, response: Response, follow_up: FollowUp | None) -> bool:
    """Admins handle every comment; a secretary those on their units or handed to them."""
    if user.is_admin:
        return True
    mine = {u.id for u in user.units}
    return response.unit_id in mine or (follow_up is not None and follow_up.owner_unit_id in mine)


def find_follow_up(session: Session, response: Response) -> FollowUp | None:
    """The response's follow-up, if one was made."""
    return session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))


def ensure_follow_up(session: Session, response: Response) -> FollowUp:
    """Return the response's follow-up, creating it (待处理, owned by the rated unit) if absent."""
    found = find_follow_up(session, response)
    if found is not None:
        return found
    follow_up = FollowUp(response_id=response.id, owner_unit_id=response.unit_id,
                         status=FollowUpStatus.PENDING)
    try:
        with session.begin_nested():  # two editors opening it at once: the first insert wins
            session.add(follow_up)
    except IntegrityError:
        found = find_follow_up(session, response)
        assert found is not None
        return found
    return follow_up


def update_follow_up(follow_up: FollowUp, status: FollowUpStatus, reply: str | None,
                     due_on: date | None, by: User, owner_unit: Unit | None = None,
                     today: date | None = None) -> None:
    """Record progress; closing stamps the day, reopening clears it."""
    if status == FollowUpStatus.DONE and follow_up.closed_on is None:
        follow_up.closed_on = today or date.today()
    elif status != FollowUpStatus.DONE:
        follow_up.closed_on = None
    follow_up.status = status
    follow_up.reply = (reply or "").strip() or None
    follow_up.due_on = due_on
    if owner_unit is not None:
        follow_up.owner_unit_id = owner_unit.id
    follow_up.updated_by_id = by.id
    follow_up.updated_at = datetime.now(timezone.utc)
