"""The push page: webhook settings, outbox counts, dead letters with a resend button."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from sync.push.models import Webhook
from sync.push.outbox import change_webhook, dead_letters, outbox_counts, resend

from ...audit import audit
from ...auth import admin_required
from ...extensions import db
from . import bp, campaign_or_404


@bp.get("/admin/campaigns/<int:campaign_id>/push")
@admin_required
def push(campaign_id: int):  # type: ignore[no-untyped-def]
    """Webhook settings and delivery state."""
    campaign = campaign_or_404(campaign_id)
    return render_template("admin/programmes/push.html", campaign=campaign,
                           hook=db.session.get(Webhook, campaign.id),
                           counts=outbox_counts(db.session, campaign.id),
                           dead=dead_letters(db.session, campaign.id))


@bp.post("/admin/campaigns/<int:campaign_id>/push")
@admin_required
def save_push(campaign_id: int):  # type: ignore[no-untyped-def]
    """Set or disable the webhook; an empty secret keeps the stored one."""
    campaign = campaign_or_404(campaign_id)
    url = request.form.get("url", "").strip() or None
    hook = db.session.get(Webhook, campaign.id)
    secret = request.form.get("secret", "").strip() or (hook.secret if hook else None)
    try:
        _, before, after = change_webhook(db.session, campaign, url, secret)
        audit("webhook.update", "webhook", campaign.id, campaign_id=campaign.id, before=before,
              after=after)
        db.session.commit()
        flash("推送设置已保存。" if url else "已停用推送。")
    except ValueError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for(".push", campaign_id=campaign.id))


@bp.post("/admin/campaigns/<int:campaign_id>/push/resend")
@admin_required
def resend_dead(campaign_id: int):  # type: ignore[no-untyped-def]
    """Queue dead letters again (all of the campaign's, or the one posted)."""
    campaign = campaign_or_404(campaign_id)
    wanted = request.form.get("entry", type=int)
    ids = [d.id for d in dead_letters(db.session, campaign.id) if wanted in (None, d.id)]
    audit("push.resend", "webhook", campaign.id, campaign_id=campaign.id, after={"entries": ids})
    flash(f"已重新排队 {resend(db.session, ids)} 条。")
    return redirect(url_for(".push", campaign_id=campaign.id))
