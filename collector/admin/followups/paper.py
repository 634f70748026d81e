"""Paper questionnaire entry (问卷调查): keyboard-only keying, single or double entry."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from sync.followups.paper import (
    FIELD_LABELS,
    PaperError,
    clean_keyed,
    double_entry_state,
    merge_agreed,
    stage_sheet,
    store_sheet,
)
from sync.models import Campaign, User

from ...audit import audit
from ...auth import can_access_campaign, current_user, login_required
from ...extensions import db
from ...links import signer
from .. import bp

OUTCOMES = {"stored": "已保存", "duplicate": "此编号的问卷已录入过，内容相同，未重复计入",
            "conflict": "此编号的问卷已录入过且内容不同！已另存待核查，未重复计入"}


def _campaign(campaign_id: int) -> Campaign:
    """:raise 404: unknown campaign or none of the secretary's units in it."""
    user = current_user()
    campaign = db.session.get(Campaign, campaign_id) if 0 < campaign_id < 2**31 else None
    if campaign is None or user is None or not can_access_campaign(user, campaign):
        abort(404)
    return campaign


def _unit_codes(user: User, campaign: Campaign) -> set[str]:
    """Codes of the secretary's units in this campaign (codes are unique per campaign only)."""
    return {u.code for u in user.units if u.campaign_id == campaign.id}


def _mode() -> tuple[str, int]:
    mode = request.values.get("mode", "single")
    pass_no = request.values.get("pass", 1, type=int)
    if mode not in ("single", "double") or pass_no not in (1, 2):
        abort(400)
    return mode, pass_no


@bp.route("/campaigns/<int:campaign_id>/paper", methods=["GET", "POST"])
@login_required
def paper_entry(campaign_id: int):  # type: ignore[no-untyped-def]
    """One blank form per sheet; Enter saves and the next blank form appears.

    :raise 404: campaign not visible; 403: a secretary keying another unit's sheet.
    """
    user = current_user()
    assert user is not None
    campaign = _campaign(campaign_id)
    mode, pass_no = _mode()
    values = request.form if request.method == "POST" else {}
    error, status = None, 200
    if request.method == "POST":
        try:
            keyed = clean_keyed(values.get("sheet_no", ""), values.get("unit", ""),
                                values.get("digits", ""), values.get("identity", ""),
                                values.get("comment", ""))
            if not user.is_admin and keyed.unit not in _unit_codes(user, campaign):
                raise PaperError("只能录入本单位的问卷。")
            if mode == "double":
                stage_sheet(db.session, campaign, keyed, pass_no, user)
                audit("paper.stage", "paper_sheet", keyed.sheet_no, campaign_id=campaign.id,
                      after={"pass": pass_no, **keyed.payload()})
                db.session.commit()
                flash(f"问卷 {keyed.sheet_no} 第 {pass_no} 遍已录入。")
            else:
                result = store_sheet(db.session, signer(), campaign, keyed, user)
                if result.status == "rejected":
                    raise PaperError(result.error or "无法保存。")
                audit("paper.key", "paper_sheet", keyed.sheet_no, campaign_id=campaign.id,
                      after={"status": result.status, "response": result.id})
                db.session.commit()
                flash(f"问卷 {keyed.sheet_no}：{OUTCOMES[result.status]}。",
                      "" if result.status == "stored" else "error")
            return redirect(url_for("admin.paper_entry", campaign_id=campaign.id, mode=mode,
                                    unit=keyed.unit, **{"pass": pass_no}))
        except PaperError as exc:
            db.session.rollback()
            error, status = exc.message, 422
    items = campaign.questionnaire.items
    return render_template("admin/followups/paper.html", campaign=campaign, mode=mode,
                           pass_no=pass_no, items=items,
                           identities=campaign.questionnaire.identities, values=values,
                           unit=values.get("unit") or request.args.get("unit", ""),
                           error=error), status


@bp.route("/campaigns/<int:campaign_id>/paper/mismatches", methods=["GET", "POST"])
@login_required
def paper_mismatches(campaign_id: int):  # type: ignore[no-untyped-def]
    """Double entry: sheets whose two keyings differ or lack a pass; POST merges agreed sheets."""
    user = current_user()
    assert user is not None
    campaign = _campaign(campaign_id)
    if request.method == "POST":
        if not user.is_admin:
            abort(403)
        outcomes = merge_agreed(db.session, signer(), campaign, user)
        audit("paper.merge_agreed", "campaign", campaign.id, campaign_id=campaign.id,
              after={sheet: (r if isinstance(r, str) else r.status) for sheet, r in outcomes})
        db.session.commit()
        flash(f"已提交 {len(outcomes)} 份两遍一致的问卷。")
        return redirect(url_for("admin.paper_mismatches", campaign_id=campaign.id))
    # A secretary sees only sheets keyed for their own units of this campaign.
    mine = None if user.is_admin else _unit_codes(user, campaign)
    mismatches, agreed = double_entry_state(db.session, campaign, mine)
    return render_template("admin/followups/paper_mismatches.html", campaign=campaign,
                           mismatches=mismatches, agreed=agreed, labels=FIELD_LABELS,
                           own_units_only=mine is not None)
