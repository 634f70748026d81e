"""Appeal pages (申诉复核): a unit secretary files, an admin decides; counts per unit for admins."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from sync.followups.appeals import (
    AppealError,
    appeal_counts,
    decide_appeal,
    file_appeal,
    list_appeals,
    may_appeal,
)
from sync.followups.models import Appeal, AppealDecision, AppealKind
from sync.models import Response

from ...auth import admin_required, current_user, login_required
from ...extensions import db
from .. import bp
from .forms import AppealForm, DecisionForm
from .ledger import chosen_campaign, visible_campaigns


@bp.get("/appeals")
@login_required
def appeals():  # type: ignore[no-untyped-def]
    """A campaign's appeals: all of them with per-unit counts for admins, their own for secretaries.

    :raise 404: campaign not visible.
    """
    user = current_user()
    assert user is not None
    campaigns = visible_campaigns()
    campaign = chosen_campaign(campaigns)
    decision_arg = request.args.get("decision", "")
    if decision_arg and decision_arg not in {d.value for d in AppealDecision}:
        abort(400)
    rows, counts = [], []
    if campaign is not None:
        scope = None if user.is_admin else [u.id for u in user.units]
        rows = list_appeals(db.session, campaign.id, scope,
                            AppealDecision(decision_arg) if decision_arg else None)
        counts = appeal_counts(db.session, campaign.id) if user.is_admin else []
    return render_template("admin/followups/appeals.html", campaigns=campaigns, campaign=campaign,
                           rows=rows, counts=counts, decision=decision_arg,
                           decisions=list(AppealDecision), form=DecisionForm())


@bp.route("/responses/<int:response_id>/appeal", methods=["GET", "POST"])
@login_required
def appeal_file(response_id: int):  # type: ignore[no-untyped-def]
    """A secretary of the rated unit appeals the rating as malicious or mistaken.

    :raise 404: no such rating, or not on the secretary's units.
    """
    user = current_user()
    assert user is not None
    response = db.session.get(Response, response_id) if 0 < response_id < 2**31 else None
    if response is None or not may_appeal(user, response):
        abort(404)
    existing = db.session.scalar(db.select(Appeal).where(Appeal.response_id == response.id))
    form = AppealForm()
    error = None
    if existing is None and form.validate_on_submit():
        try:
            file_appeal(db.session, response, user, AppealKind(form.kind.data), form.reason.data,
                        form.evidence.data, ip=request.remote_addr)
        except AppealError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            flash("申诉已提交，等待管理员复核。")
            return redirect(url_for("admin.appeals", campaign=response.campaign_id))
    status = 422 if (form.errors or error) else 200
    return render_template("admin/followups/appeal_file.html", response=response, form=form,
                           existing=existing, error=error), status


@bp.post("/appeals/<int:appeal_id>/decide")
@admin_required
def appeal_decide(appeal_id: int):  # type: ignore[no-untyped-def]
    """An admin upholds (the rating is excluded) or rejects an appeal, with a reason.

    :raise 404: no such appeal.
    """
    user = current_user()
    assert user is not None
    appeal = db.session.get(Appeal, appeal_id) if 0 < appeal_id < 2**31 else None
    if appeal is None:
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash("；".join(e for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("admin.appeals", campaign=appeal.campaign_id))
    try:
        decide_appeal(db.session, appeal, user, form.decision.data == "upheld", form.reason.data,
                      ip=request.remote_addr)
    except AppealError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.appeals", campaign=appeal.campaign_id))
    db.session.commit()
    flash("已复核。")
    return redirect(url_for("admin.appeals", campaign=appeal.campaign_id))
