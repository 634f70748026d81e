"""Follow-up pages (整改台账): comments with their status; secretaries only for their units."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from sync.audit import FOLLOW_UP_FIELDS, snapshot
from sync.followups import (
    PAGE_SIZE,
    can_handle,
    ensure_follow_up,
    find_follow_up,
    list_comments,
    update_follow_up,
)
from sync.models import Campaign, FollowUpStatus, Response, Unit

from ..audit import audit
from ..auth import can_access_campaign, current_user, login_required
from ..extensions import db
from . import bp
from .forms import FollowUpForm, choices


def _visible_campaigns() -> list[Campaign]:
    user = current_user()
    assert user is not None
    query = select(Campaign).order_by(Campaign.year.desc(), Campaign.id.desc())
    if not user.is_admin:
        query = query.where(Campaign.id.in_({u.campaign_id for u in user.units}))
    return list(db.session.scalars(query))


@bp.get("/followups")
@login_required
def followups():  # type: ignore[no-untyped-def]
    """Comments of a campaign with their follow-up status, filtered by status.

    :raise 404: the campaign is unknown or holds none of the secretary's units.
    """
    user = current_user()
    assert user is not None
    campaigns = _visible_campaigns()
    campaign_id = request.args.get("campaign", type=int)
    if campaign_id is None:
        campaign = campaigns[0] if campaigns else None
    else:
        campaign = db.session.get(Campaign, campaign_id) if 0 < campaign_id < 2**31 else None
        if campaign is None or not can_access_campaign(user, campaign):
            abort(404)
    status_arg = request.args.get("status", "")
    if status_arg and status_arg not in {s.value for s in FollowUpStatus}:
        abort(400)
    status = FollowUpStatus(status_arg) if status_arg else None
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    total, rows = (0, [])
    if campaign is not None:
        unit_ids = None if user.is_admin else [u.id for u in user.units]
        total, rows = list_comments(db.session, campaign.id, unit_ids, status, page)
    return render_template("admin/followups/list.html", campaigns=campaigns, campaign=campaign,
                           rows=rows, total=total, page=page, page_size=PAGE_SIZE,
                           status=status_arg, statuses=list(FollowUpStatus))


@bp.route("/followups/<int:response_id>", methods=["GET", "POST"])
@login_required
def followup(response_id: int):  # type: ignore[no-untyped-def]
    """Record how a comment is being handled.

    :raise 404: no such comment, or it is neither on nor handed to the secretary's units.
    """
    user = current_user()
    assert user is not None
    response = db.session.get(Response, response_id)
    if response is None or not (response.comment or "").strip():
        abort(404)
    existing = find_follow_up(db.session, response)
    if not can_handle(user, response, existing):
        abort(404)
    form = FollowUpForm(obj=existing, status=existing.status.value if existing else None,
                        owner_unit_id=existing.owner_unit_id if existing else response.unit_id)
    units = db.session.scalars(select(Unit).where(Unit.campaign_id == response.campaign_id)
                               .order_by(Unit.code)).all()
    form.owner_unit_id.choices = choices((u.id, f"{u.code} {u.name}") for u in units)
    if not user.is_admin:  # only an admin hands a comment to another unit
        del form.owner_unit_id
    if form.validate_on_submit():
        before = snapshot(existing, FOLLOW_UP_FIELDS) if existing else None
        follow_up = ensure_follow_up(db.session, response)
        owner = db.session.get(Unit, form.owner_unit_id.data) if user.is_admin else None
        update_follow_up(follow_up, FollowUpStatus(form.status.data), form.reply.data,
                         form.due_on.data, user, owner)
        audit("follow_up.update", "response", response.uuid, campaign_id=response.campaign_id,
              before=before, after=snapshot(follow_up, FOLLOW_UP_FIELDS))
        db.session.commit()
        flash("已保存办理情况。")
        return redirect(url_for("admin.followups", campaign=response.campaign_id))
    return render_template("admin/followups/edit.html", response=response, follow_up=existing,
                           form=form), 422 if form.errors else 200
