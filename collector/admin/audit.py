"""The audit log page (admins only): read and filter, newest first. Nothing here changes a row."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request
from sqlalchemy import select

from sync.audit import ACTION_LABELS, PAGE_SIZE, AuditQuery, changed_fields, list_entries
from sync.models import Campaign, User
from sync.reports.filters import FilterError, _parse_day, day_start_utc, local_time

from ..auth import admin_required
from ..errors import render_error
from ..extensions import db
from . import bp

MAX_ID = 2**31 - 1


def _int_arg(name: str, what: str) -> int | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise FilterError(f"{what}“{text}”无效，请从列表中选择。")
    return int(text)


def _query() -> AuditQuery:
    """The filters in the query string. :raise FilterError: a value a person must fix."""
    action = request.args.get("action", "").strip() or None
    if action is not None and action not in ACTION_LABELS:
        raise FilterError(f"未知的操作类型“{action}”。")
    start = _parse_day(request.args.get("from", ""), "开始日期")
    end = _parse_day(request.args.get("to", ""), "结束日期")
    if start and end and start > end:
        raise FilterError("开始日期不能晚于结束日期。")
    return AuditQuery(
        actor_id=_int_arg("actor", "操作人"), action=action,
        campaign_id=_int_arg("campaign", "评议活动"),
        since=day_start_utc(start) if start else None,
        until=day_start_utc(end + timedelta(days=1)) if end else None)


def _beijing(moment: object) -> str:
    return local_time(moment).strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[arg-type]


@bp.get("/audit")
@admin_required
def audit_log():  # type: ignore[no-untyped-def]
    """Who changed what, when; filter by person, action, campaign and Beijing-time days."""
    try:
        query = _query()
        before_id = _int_arg("before", "页码")
    except FilterError as exc:
        return render_error(400, exc.message)
    entries = list_entries(db.session, query, before_id, PAGE_SIZE + 1)
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    filters = {k: v for k, v in request.args.items() if k != "before" and v}
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.id.desc())).all()
    return render_template(
        "admin/audit.html", entries=entries, more=more, filters=filters,
        next_before=entries[-1].id if more else None, changed_fields=changed_fields,
        action_labels=ACTION_LABELS, beijing=_beijing,
        users=db.session.scalars(select(User).order_by(User.username)).all(),
        campaigns=campaigns, campaign_titles={c.id: c.title for c in campaigns})
