"""Ledger pages (整改台账): follow-ups with deadlines; secretaries only for their units."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from sync.audit import snapshot
from sync.clock import local_today
from sync.db import write_transaction
from sync.exports.kinds import ledger_params
from sync.followups.appeals import may_appeal
from sync.followups.contact import contact_for, may_see_contact
from sync.followups.ledger import (
    AUDITED,
    PAGE_SIZE,
    SORTS,
    FollowUpError,
    LedgerFilter,
    can_handle,
    ensure_follow_up,
    extend,
    find_follow_up,
    ledger_table,
    list_follow_ups,
    reopen,
    unit_counts,
    update_follow_up,
)
from sync.models import CallbackResult, Campaign, FollowUpStatus, Response, Unit

from ...audit import audit
from ...auth import can_access_campaign, current_user, login_required
from ...extensions import db
from .. import bp
from ..forms import choices
from ..reports import send_csv
from ..reports.export_jobs import queue_export, wake_runner
from .forms import ExtensionForm, FollowUpForm


def visible_campaigns() -> list[Campaign]:
    user = current_user()
    assert user is not None
    query = select(Campaign).order_by(Campaign.year.desc(), Campaign.id.desc())
    if not user.is_admin:
        query = query.where(Campaign.id.in_({u.campaign_id for u in user.units}))
    return list(db.session.scalars(query))


def chosen_campaign(campaigns: list[Campaign]) -> Campaign | None:
    """The campaign named by ?campaign=, or the newest visible one.

    :raise 404: unknown, or none of the secretary's units is in it.
    """
    user = current_user()
    assert user is not None
    campaign_id = request.args.get("campaign", type=int)
    if campaign_id is None:
        return campaigns[0] if campaigns else None
    campaign = db.session.get(Campaign, campaign_id) if 0 < campaign_id < 2**31 else None
    if campaign is None or not can_access_campaign(user, campaign):
        abort(404)
    return campaign


def _ledger_filter() -> LedgerFilter:
    """Read the list's filters from the query string.

    :raise 400: an unknown status or sort.
    """
    status_arg = request.args.get("status", "")
    if status_arg and status_arg not in {s.value for s in FollowUpStatus}:
        abort(400)
    sort = request.args.get("sort", "opened")
    if sort not in SORTS:
        abort(400)
    unit = request.args.get("unit", type=int)
    return LedgerFilter(FollowUpStatus(status_arg) if status_arg else None,
                        request.args.get("overdue") == "1",
                        unit if unit and 0 < unit < 2**31 else None, sort)


def _unit_scope() -> list[int] | None:
    user = current_user()
    assert user is not None
    return None if user.is_admin else [u.id for u in user.units]


@bp.get("/followups")
@login_required
def followups():  # type: ignore[no-untyped-def]
    """The ledger of a campaign, filtered and sorted, with per-unit progress and overdue counts.

    :raise 404: the campaign is unknown or holds none of the secretary's units.
    """
    campaigns = visible_campaigns()
    campaign = chosen_campaign(campaigns)
    ledger_filter = _ledger_filter()
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    total, rows, counts, units = 0, [], [], []
    if campaign is not None:
        scope = _unit_scope()
        total, rows = list_follow_ups(db.session, campaign.id, scope, ledger_filter, page)
        counts = unit_counts(db.session, campaign.id, scope)
        units = [u for u in campaign.units if scope is None or u.id in scope]
    params = {"campaign": campaign.id if campaign else None,
              "status": ledger_filter.status.value if ledger_filter.status else "",
              "overdue": "1" if ledger_filter.overdue_only else "",
              "unit": ledger_filter.owner_unit_id or "", "sort": ledger_filter.sort}
    return render_template("admin/followups/list.html", campaigns=campaigns, campaign=campaign,
                           rows=rows, total=total, page=page, page_size=PAGE_SIZE,
                           counts=counts, units=units, filters=ledger_filter, params=params,
                           statuses=list(FollowUpStatus), sorts=SORTS,
                           personal_hours=f"{current_app.config['EXPORT_PERSONAL_RETENTION_HOURS']:g}")


@bp.get("/followups/export.<any(csv):fmt>")
@login_required
def followups_export(fmt: str):  # type: ignore[no-untyped-def]
    """Stream the ledger as CSV; `contact=1` adds phone numbers for an admin, and is audited
    (Excel files are background jobs: followups_export_xlsx).

    :raise 403: a secretary asking for phone numbers.
    :raise 404: no campaign visible.
    """
    campaign, include_contact = _export_request()
    if include_contact:
        audit("contact.export", "campaign", campaign.id, campaign_id=campaign.id,
              after={"format": fmt, "filters": request.args.to_dict()})
        db.session.commit()
    table = ledger_table(db.session, campaign, _unit_scope(), _ledger_filter(), include_contact)
    return send_csv(table, f"campaign-{campaign.id}-followups.{fmt}")


@bp.post("/followups/export.xlsx")
@login_required
def followups_export_xlsx():  # type: ignore[no-untyped-def]
    """Queue the ledger as an Excel file (a background job, like every Excel file) and show
    its progress; `contact=1` adds phone numbers for an admin: audited when asked for and at
    every download, and kept EXPORT_PERSONAL_RETENTION_HOURS.

    :raise 403: a secretary asking for phone numbers.
    :raise 404: no campaign visible.
    """
    campaign, include_contact = _export_request()
    user = current_user()
    assert user is not None
    scope = None if user.is_admin else {u.id for u in user.units
                                         if u.campaign_id == campaign.id}
    chosen = _ledger_filter()
    job = queue_export(campaign, "ledger", ledger_params(chosen), scope,
                       personal=include_contact)
    if include_contact:
        audit("contact.export", "campaign", campaign.id, campaign_id=campaign.id,
              after={"format": "xlsx", "filters": request.args.to_dict(), "job": job.id})
    db.session.commit()
    wake_runner()
    return redirect(url_for("reports.export_job", job_id=job.id), code=303)


def _export_request() -> tuple[Campaign, bool]:
    """The campaign to export and whether phone numbers are asked for.

    :raise 403: a secretary asking for phone numbers.
    :raise 404: no campaign visible.
    """
    user = current_user()
    assert user is not None
    campaign = chosen_campaign(visible_campaigns())
    if campaign is None:
        abort(404)
    include_contact = request.args.get("contact") == "1"
    if include_contact and not user.is_admin:
        abort(403)
    return campaign, include_contact


def _load(response_id: int) -> tuple[Response, object]:
    """The response and its follow-up, if the signed-in user may handle them.

    :raise 404: no such rating, or not on/handed to the secretary's units.
    """
    user = current_user()
    assert user is not None
    response = db.session.get(Response, response_id) if 0 < response_id < 2**31 else None
    if response is None:
        abort(404)
    existing = find_follow_up(db.session, response)
    if existing is None and not (response.comment or "").strip():
        abort(404)  # nothing to follow up
    if not can_handle(user, response, existing):
        abort(404)
    return response, existing


@bp.route("/followups/<int:response_id>", methods=["GET", "POST"])
@login_required
def followup(response_id: int):  # type: ignore[no-untyped-def]
    """Record how a follow-up is handled: status, reply, measures, 回访.

    :raise 404: no such follow-up for this user.
    """
    user = current_user()
    assert user is not None
    response, existing = _load(response_id)
    form = FollowUpForm(obj=existing,
                        status=existing.status.value if existing else None,
                        callback_result=(existing.callback_result.value
                                         if existing and existing.callback_result else ""),
                        owner_unit_id=existing.owner_unit_id if existing else response.unit_id)
    units = db.session.scalars(select(Unit).where(Unit.campaign_id == response.campaign_id)
                               .order_by(Unit.code)).all()
    form.owner_unit_id.choices = choices((u.id, f"{u.code} {u.name}") for u in units)
    if not user.is_admin:  # only an admin hands a follow-up to another unit
        del form.owner_unit_id
    error = None
    if form.validate_on_submit():
        owner_id = form.owner_unit_id.data if user.is_admin else None
        try:
            # One write transaction from the start: on SQLite a read cannot be upgraded to a
            # write safely when two people save at once.
            with write_transaction(db.session):
                follow_up = ensure_follow_up(db.session, response)
                before = snapshot(follow_up, AUDITED)
                update_follow_up(
                    follow_up, FollowUpStatus(form.status.data), form.reply.data, user,
                    measures=form.measures.data,
                    owner_unit=db.session.get(Unit, owner_id) if owner_id else None,
                    callback_result=(CallbackResult(form.callback_result.data)
                                     if form.callback_result.data else None))
                db.session.flush()
                audit("follow_up.update", "response", response.uuid,
                      campaign_id=response.campaign_id, before=before,
                      after=snapshot(follow_up, AUDITED))
        except FollowUpError as exc:
            error = exc.message
        else:
            flash("已保存办理情况。")
            return redirect(url_for("admin.followups", campaign=response.campaign_id))
    follow_up = existing or find_follow_up(db.session, response)
    contact = contact_for(db.session, user, follow_up) if follow_up else None
    status = 422 if (form.errors or error) else 200
    return render_template("admin/followups/edit.html", response=response, follow_up=follow_up,
                           form=form, extension=ExtensionForm(), error=error, contact=contact,
                           today=local_today(), can_appeal=may_appeal(user, response),
                           can_see_contact=(
                               follow_up is not None and may_see_contact(user, follow_up))), status


@bp.post("/followups/<int:response_id>/extend")
@login_required
def followup_extend(response_id: int):  # type: ignore[no-untyped-def]
    """An admin extends the deadline (at most one month), with the reason recorded.

    :raise 403: a secretary (extensions are granted by the accepting office).
    """
    user = current_user()
    assert user is not None
    if not user.is_admin:
        abort(403)
    response, _ = _load(response_id)
    follow_up = ensure_follow_up(db.session, response)
    form = ExtensionForm()
    if not form.validate_on_submit():
        flash("；".join(e for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("admin.followup", response_id=response_id))
    before = snapshot(follow_up, AUDITED)
    try:
        extend(follow_up, form.due_on.data, form.reason.data, user)
    except FollowUpError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.followup", response_id=response_id))
    audit("follow_up.extend", "response", response.uuid, campaign_id=response.campaign_id,
          before=before, after=snapshot(follow_up, AUDITED))
    db.session.commit()
    flash("已延期。")
    return redirect(url_for("admin.followup", response_id=response_id))


@bp.post("/followups/<int:response_id>/reopen")
@login_required
def followup_reopen(response_id: int):  # type: ignore[no-untyped-def]
    """Reopen a closed follow-up whose 回访 was 不满意."""
    user = current_user()
    assert user is not None
    response, follow_up = _load(response_id)
    if follow_up is None:
        abort(404)
    before = snapshot(follow_up, AUDITED)
    try:
        reopen(follow_up, user)
    except FollowUpError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.followup", response_id=response_id))
    audit("follow_up.reopen", "response", response.uuid, campaign_id=response.campaign_id,
          before=before, after=snapshot(follow_up, AUDITED))
    db.session.commit()
    flash("已重新办理。")
    return redirect(url_for("admin.followup", response_id=response_id))
