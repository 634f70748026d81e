"""The ledger (整改台账): follow-ups listed, filtered, counted per unit, edited and exported.

Every qualifying rating gets its record when it is stored (see intake), so the ledger reads
follow_ups by campaign (indexed) and pages through them; it never scans responses.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ..clock import local_day, local_today
from ..exports.table import TIME_FORMAT, Table
from ..models import (
    CallbackResult,
    Campaign,
    FollowUp,
    FollowUpStatus,
    Response,
    Unit,
    User,
)
from ..reports import local_time
from .deadlines import add_working_days, latest_extension
from .models import ResponseContact

PAGE_SIZE = 50
OPEN_STATUSES = (FollowUpStatus.PENDING, FollowUpStatus.IN_PROGRESS)
SORTS = {"opened": "受理日期（新→旧）", "due": "办理时限（近→远）", "unit": "责任单位"}


class FollowUpError(ValueError):
    """A change the ledger refuses, with a message for the person making it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class LedgerFilter:
    status: FollowUpStatus | None = None
    overdue_only: bool = False
    owner_unit_id: int | None = None
    sort: str = "opened"

    def conditions(self, today: date) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.status is not None:
            where.append(FollowUp.status == self.status)
        if self.overdue_only:
            where.append(_overdue(today))
        if self.owner_unit_id is not None:
            where.append(FollowUp.owner_unit_id == self.owner_unit_id)
        return where


def _overdue(today: date) -> ColumnElement[bool]:
    return and_(FollowUp.status.in_(OPEN_STATUSES), FollowUp.due_on < today)


@dataclass(frozen=True)
class LedgerRow:
    """One follow-up with what the list and the export show."""

    follow_up_id: int
    response_id: int
    response_uuid: str
    created_at: datetime
    unit_code: str
    unit_name: str
    comment: str
    status: FollowUpStatus
    owner_unit_name: str
    opened_on: date | None
    due_on: date | None
    extension_reason: str | None
    reply: str | None
    measures: str | None
    replied_on: date | None
    callback_result: CallbackResult | None
    callback_on: date | None
    closed_on: date | None
    overdue: bool
    #: closed, but after its deadline
    late: bool


def _ledger_query(campaign_id: int, unit_ids: Collection[int] | None,
                  ledger_filter: LedgerFilter, today: date) -> Select:
    rated = aliased(Unit)
    owner = aliased(Unit)
    query = (
        select(FollowUp, Response.uuid, Response.created_at, rated.code, rated.name,
               Response.comment, owner.name)
        .join(Response, Response.id == FollowUp.response_id)
        .join(rated, rated.id == Response.unit_id)
        .join(owner, owner.id == FollowUp.owner_unit_id)
        .where(FollowUp.campaign_id == campaign_id, *ledger_filter.conditions(today))
    )
    if unit_ids is not None:  # a secretary: follow-ups on their units or handed to them
        query = query.where(or_(FollowUp.owner_unit_id.in_(unit_ids),
                                Response.unit_id.in_(unit_ids)))
    return query


def _order(query: Select, sort: str) -> Select:
    if sort == "due":
        return query.order_by(FollowUp.due_on.asc(), FollowUp.id.asc())
    if sort == "unit":
        return query.order_by(FollowUp.owner_unit_id, FollowUp.id.desc())
    return query.order_by(FollowUp.id.desc())


def _row(found: tuple, today: date) -> LedgerRow:
    f, uuid, created_at, code, name, comment, owner_name = found
    late = f.status.is_closed and f.due_on is not None and (f.closed_on or today) > f.due_on
    return LedgerRow(f.id, f.response_id, uuid, created_at, code, name, comment or "", f.status,
                     owner_name, f.opened_on, f.due_on, f.extension_reason, f.reply, f.measures,
                     f.replied_on, f.callback_result, f.callback_on, f.closed_on,
                     f.is_overdue(today), late)


def list_follow_ups(session: Session, campaign_id: int, unit_ids: Collection[int] | None = None,
                    ledger_filter: LedgerFilter | None = None, page: int = 1,
                    page_size: int = PAGE_SIZE,
                    today: date | None = None) -> tuple[int, list[LedgerRow]]:
    """Return (total, one page of the ledger); `unit_ids` None means every unit."""
    today = today or local_today()
    ledger_filter = ledger_filter or LedgerFilter()
    query = _ledger_query(campaign_id, unit_ids, ledger_filter, today)
    total = count_follow_ups(session, campaign_id, unit_ids, ledger_filter, today)
    rows = session.execute(_order(query, ledger_filter.sort)
                           .offset((max(page, 1) - 1) * page_size).limit(page_size)).all()
    return total, [_row(tuple(r), today) for r in rows]


def count_follow_ups(session: Session, campaign_id: int, unit_ids: Collection[int] | None,
                     ledger_filter: LedgerFilter, today: date) -> int:
    """How many follow-ups the ledger lists with this filter and scope."""
    counted = select(func.count(FollowUp.id)).where(FollowUp.campaign_id == campaign_id,
                                                   *ledger_filter.conditions(today))
    if unit_ids is not None:  # the same scope as _ledger_query, without the display joins
        counted = counted.join(Response, Response.id == FollowUp.response_id).where(
            or_(FollowUp.owner_unit_id.in_(unit_ids), Response.unit_id.in_(unit_ids)))
    return session.scalar(counted) or 0


@dataclass
class UnitCounts:
    """整改 progress of one owner unit."""

    unit_id: int
    code: str
    name: str
    total: int = 0
    open: int = 0
    overdue: int = 0
    closed: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def unit_counts(session: Session, campaign_id: int, unit_ids: Collection[int] | None = None,
                today: date | None = None) -> list[UnitCounts]:
    """Received, open, overdue and closed follow-ups per owner unit (one grouped query)."""
    today = today or local_today()
    open_ = FollowUp.status.in_(OPEN_STATUSES)
    query = (select(Unit.id, Unit.code, Unit.name, func.count(FollowUp.id),
                    func.sum(case((open_, 1), else_=0)),
                    func.sum(case((_overdue(today), 1), else_=0)))
             .join(FollowUp, FollowUp.owner_unit_id == Unit.id)
             .where(FollowUp.campaign_id == campaign_id)
             .group_by(Unit.id, Unit.code, Unit.name).order_by(Unit.code))
    if unit_ids is not None:
        query = query.where(Unit.id.in_(unit_ids))
    return [UnitCounts(uid, code, name, total, int(open_n or 0), int(overdue or 0),
                       total - int(open_n or 0))
            for uid, code, name, total, open_n, overdue in session.execute(query)]


def can_handle(user: User, response: Response, follow_up: FollowUp | None) -> bool:
    """Admins handle every follow-up; a secretary those on their units or handed to them."""
    if user.is_admin:
        return True
    mine = {u.id for u in user.units}
    return response.unit_id in mine or (follow_up is not None and follow_up.owner_unit_id in mine)


def find_follow_up(session: Session, response: Response) -> FollowUp | None:
    """The response's follow-up, if one was opened."""
    return session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))


def ensure_follow_up(session: Session, response: Response,
                     today: date | None = None) -> FollowUp:
    """Return the response's follow-up, opening it now if the rating predates automatic opening."""
    found = find_follow_up(session, response)
    if found is not None:
        return found
    campaign = session.get(Campaign, response.campaign_id)
    assert campaign is not None
    opened = today or local_day(response.received_at)
    follow_up = FollowUp(response_id=response.id, campaign_id=response.campaign_id,
                         owner_unit_id=response.unit_id, status=FollowUpStatus.PENDING,
                         opened_on=opened,
                         due_on=add_working_days(opened, campaign.followup_days or 5))
    try:
        with session.begin_nested():  # two editors opening it at once: the first insert wins
            session.add(follow_up)
    except IntegrityError:
        found = find_follow_up(session, response)
        assert found is not None
        return found
    return follow_up


#: fields an edit may change, for the audit's before/after
AUDITED = ("status", "owner_unit_id", "reply", "measures", "replied_on", "callback_result",
           "callback_on", "closed_on", "due_on", "extension_reason", "reopened_count")


def update_follow_up(follow_up: FollowUp, status: FollowUpStatus, reply: str | None,
                     by: User, *, measures: str | None = None,
                     callback_result: CallbackResult | None = None,
                     owner_unit: Unit | None = None, today: date | None = None) -> None:
    """Record progress: 待处理 → 处理中 → 已办结 / 已说明, with reply, measures and 回访.

    A closed follow-up only moves back through `reopen`.
    :raise FollowUpError: closing without a reply, or reopening by an edit.
    """
    today = today or local_today()
    reply = (reply or "").strip() or None
    if follow_up.status.is_closed and not status.is_closed:
        raise FollowUpError("已办结的事项不能直接改回，回访不满意时请使用“重新办理”。")
    if status.is_closed and reply is None:
        raise FollowUpError("办结或说明时请填写办理情况（答复）。")
    if status.is_closed and follow_up.closed_on is None:
        follow_up.closed_on = today
    if reply is not None and reply != follow_up.reply:
        follow_up.replied_on = today
    follow_up.status = status
    follow_up.reply = reply
    follow_up.measures = (measures or "").strip() or None
    if callback_result is not None and callback_result != follow_up.callback_result:
        follow_up.callback_result = callback_result
        follow_up.callback_on = today
    if owner_unit is not None:
        follow_up.owner_unit_id = owner_unit.id
    follow_up.updated_by_id = by.id
    follow_up.updated_at = datetime.now(timezone.utc)


def reopen(follow_up: FollowUp, by: User, today: date | None = None) -> None:
    """Open a closed follow-up again because the rater was not satisfied when called back.

    :raise FollowUpError: it is not closed, or the call-back was not 不满意.
    """
    if not follow_up.status.is_closed or follow_up.callback_result != CallbackResult.UNSATISFIED:
        raise FollowUpError("只有回访结果为“不满意”的已办结事项可以重新办理。")
    follow_up.status = FollowUpStatus.IN_PROGRESS
    follow_up.closed_on = None
    follow_up.callback_result = None
    follow_up.callback_on = None
    follow_up.reopened_count += 1
    follow_up.updated_by_id = by.id
    follow_up.updated_at = datetime.now(timezone.utc)
    del today


def extend(follow_up: FollowUp, new_due: date, reason: str, by: User,
           now: datetime | None = None) -> None:
    """Move the deadline later, at most one month after opening, recording who allowed it and why.

    :raise FollowUpError: no reason, not later, or beyond one month.
    """
    reason = (reason or "").strip()
    if not reason:
        raise FollowUpError("延期须写明理由。")
    if follow_up.status.is_closed:
        raise FollowUpError("已办结的事项无需延期。")
    if follow_up.due_on is not None and new_due <= follow_up.due_on:
        raise FollowUpError("延期后的时限须晚于原时限。")
    opened = follow_up.opened_on or local_day(follow_up.created_at)
    if new_due > latest_extension(opened):
        raise FollowUpError(f"延期最长不超过一个月（不晚于 {latest_extension(opened)}）。")
    follow_up.due_on = new_due
    follow_up.extension_reason = reason
    follow_up.extended_by_id = by.id
    follow_up.extended_at = now or datetime.now(timezone.utc)
    follow_up.updated_by_id = by.id
    follow_up.updated_at = follow_up.extended_at


def ledger_table(session: Session, campaign: Campaign, unit_ids: Collection[int] | None,
                 ledger_filter: LedgerFilter | None = None, include_contact: bool = False,
                 today: date | None = None) -> Table:
    """The 整改台账 for export, streamed; phone numbers only when explicitly asked for."""
    today = today or local_today()
    ledger_filter = ledger_filter or LedgerFilter()
    query = _order(_ledger_query(campaign.id, unit_ids, ledger_filter, today), ledger_filter.sort)
    headers = ["编号", "评议时间(北京时间)", "单位代码", "评议对象", "意见建议", "责任单位",
               "办理状态", "受理日期", "办理时限", "是否逾期", "延期理由", "答复日期",
               "办理情况", "整改措施", "回访结果", "回访日期", "办结日期"]
    if include_contact:
        headers.append("联系电话")
        query = query.add_columns(ResponseContact.phone).outerjoin(
            ResponseContact, ResponseContact.response_id == FollowUp.response_id)

    def rows() -> Iterator[list[object]]:
        for found in session.execute(query.execution_options(yield_per=1000)):
            r = _row(tuple(found)[:7], today)
            row: list[object] = [
                r.response_uuid, local_time(r.created_at).strftime(TIME_FORMAT), r.unit_code,
                r.unit_name, r.comment,
                r.owner_unit_name, r.status.label, _day(r.opened_on), _day(r.due_on),
                "逾期" if r.overdue else ("逾期办结" if r.late else ""), r.extension_reason or "",
                _day(r.replied_on), r.reply or "", r.measures or "",
                r.callback_result.label if r.callback_result else "", _day(r.callback_on),
                _day(r.closed_on)]
            if include_contact:
                row.append(found[7] or "")
            yield row

    return Table("整改台账", headers, rows())


def _day(day: date | None) -> str:
    return day.isoformat() if day else ""
