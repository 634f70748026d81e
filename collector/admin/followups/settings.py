"""Per-campaign follow-up settings: deadline in working days, levels that open one, the board."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for

from sync.audit import snapshot
from sync.followups.intake import follow_up_levels
from sync.models import Campaign

from ...audit import audit
from ...auth import admin_required
from ...extensions import db
from .. import bp
from .board import board_token, forget
from .forms import SettingsForm

FIELDS = ("followup_days", "followup_levels", "board_enabled")


@bp.route("/campaigns/<int:campaign_id>/followup-settings", methods=["GET", "POST"])
@admin_required
def followup_settings(campaign_id: int):  # type: ignore[no-untyped-def]
    """Edit the campaign's follow-up rules and publish or hide its public board.

    :raise 404: no such campaign.
    """
    campaign = db.session.get(Campaign, campaign_id) if 0 < campaign_id < 2**31 else None
    if campaign is None:
        abort(404)
    levels = {lv.key: lv.label for item in campaign.questionnaire.items
              for lv in item.scale.levels}
    form = SettingsForm(obj=campaign, followup_levels=sorted(follow_up_levels(campaign)))
    form.followup_levels.choices = list(levels.items())
    if form.validate_on_submit():
        before = snapshot(campaign, FIELDS)
        campaign.followup_days = form.followup_days.data
        campaign.followup_levels = sorted(form.followup_levels.data or [])
        campaign.board_enabled = bool(form.board_enabled.data)
        audit("campaign.followup_settings", "campaign", campaign.id, campaign_id=campaign.id,
              before=before, after=snapshot(campaign, FIELDS))
        db.session.commit()
        forget(campaign.id)
        flash("已保存整改与公示设置。")
        return redirect(url_for("admin.followup_settings", campaign_id=campaign.id))
    board_url = f"{current_app.config['PUBLIC_BASE_URL']}/b/{board_token(campaign)}"
    return render_template("admin/followups/settings.html", campaign=campaign, form=form,
                           board_url=board_url), 422 if form.errors else 200
