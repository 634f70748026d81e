"""Visits and links pages (admins only): issue, list with full URLs, revoke and reissue."""

from __future__ import annotations

from flask import Response as HttpResponse
from flask import abort, current_app, flash, redirect, render_template, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from qr.codes import build_qr, qr_svg, short_url
from qr.links import LinkPurpose
from sync.audit import VISIT_FIELDS, link_snapshot, snapshot
from sync.campaigns import create_visit
from sync.links import issue_link, reissue_link, revoke_link
from sync.models import Campaign, Channel, Link, Response, Unit, Visit
from sync.posters import issue_poster_links

from ..audit import audit, who
from ..auth import admin_required
from ..extensions import db
from ..links import form_url
from . import bp
from .campaigns import campaign_or_404
from .forms import LinkForm, VisitForm, choices


def _link_form(campaign: Campaign, bound: bool = True) -> LinkForm:
    form = LinkForm() if bound else LinkForm(formdata=None)
    form.unit_ids.choices = choices((u.id, f"{u.code} {u.name}") for u in campaign.units
                                 if u.archived_at is None)
    form.visit_id.choices = choices([(0, "（不是走访）")] + [
        (v.id, f"{v.place} {v.visit_date or ''} {v.staff_name or ''}".strip())
        for v in _visits(campaign)])
    return form


def _visits(campaign: Campaign) -> list[Visit]:
    return list(db.session.scalars(select(Visit).where(Visit.campaign_id == campaign.id)
                                   .order_by(Visit.id)))


def _links_page(campaign: Campaign, link_form: LinkForm | None = None,
                visit_form: VisitForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    # Personal links (sample pool) are listed on the pool page, not among posters and visits.
    links = db.session.scalars(select(Link).where(Link.campaign_id == campaign.id,
                                                  Link.purpose != LinkPurpose.PERSONAL.value)
                               .options(selectinload(Link.units), selectinload(Link.visit))
                               .order_by(Link.revoked_at.is_not(None), Link.id)).all()
    # Ratings per link: one GROUP BY over the campaign (running totals may serve this later).
    counts = dict(db.session.execute(
        select(Response.link_id, func.count()).where(Response.campaign_id == campaign.id)
        .group_by(Response.link_id)).all())
    return render_template(
        "admin/campaigns/links.html", campaign=campaign, links=links, form_url=form_url,
        short_url=_short_url, counts=counts,
        visits=_visits(campaign), link_form=link_form or _link_form(campaign, bound=False),
        visit_form=visit_form or VisitForm(formdata=None)), status


@bp.get("/campaigns/<int:campaign_id>/links")
@admin_required
def links(campaign_id: int):  # type: ignore[no-untyped-def]
    """Links of a campaign with their full URLs, and the visits they belong to."""
    return _links_page(campaign_or_404(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/links/posters")
@admin_required
def create_poster_links(campaign_id: int):  # type: ignore[no-untyped-def]
    """Issue one poster link per unit that has none yet."""
    campaign = campaign_or_404(campaign_id)
    issued = issue_poster_links(db.session, campaign, **who())
    db.session.commit()
    flash(f"已为 {len(issued)} 个评议对象生成海报链接。" if issued
          else "每个评议对象都已有有效的海报链接。")
    return redirect(url_for("admin.links", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/links")
@admin_required
def create_link(campaign_id: int):  # type: ignore[no-untyped-def]
    """Issue a link for chosen units, channel and (for home visits) visit."""
    campaign = campaign_or_404(campaign_id)
    form = _link_form(campaign)
    if not form.validate():
        return _links_page(campaign, link_form=form, status=422)
    visit = db.session.get(Visit, form.visit_id.data) if form.visit_id.data else None
    units = list(db.session.scalars(select(Unit).where(
        Unit.campaign_id == campaign.id, Unit.archived_at.is_(None),
        Unit.id.in_(form.unit_ids.data))))
    channel = Channel(form.channel.data)
    if visit is not None and visit.campaign_id != campaign.id:
        abort(404)
    link = issue_link(db.session, campaign, units, channel, visit)
    audit("link.create", "link", link.id, campaign_id=campaign.id, after=link_snapshot(link))
    db.session.commit()
    flash(f"已生成链接：{form_url(link)}")
    return redirect(url_for("admin.links", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/visits")
@admin_required
def create_visit_page(campaign_id: int):  # type: ignore[no-untyped-def]
    """Record a visit (走访): place, staff and date."""
    campaign = campaign_or_404(campaign_id)
    form = VisitForm()
    if not form.validate():
        return _links_page(campaign, visit_form=form, status=422)
    visit = create_visit(db.session, campaign, form.place.data.strip(),
                         (form.staff_name.data or "").strip() or None, form.visit_date.data)
    audit("visit.create", "visit", visit.id, campaign_id=campaign.id,
          after=snapshot(visit, VISIT_FIELDS))
    db.session.commit()
    flash(f"已添加走访“{visit.place}”，请为它生成入户访谈链接。")
    return redirect(url_for("admin.links", campaign_id=campaign.id))


def _short_url(link: Link) -> str | None:
    """The printed short URL (/q/CODE) of a link, the one people type and QR codes encode."""
    if not link.short_code:
        return None
    return short_url(current_app.config["PUBLIC_BASE_URL"], link.short_code)


@bp.get("/links/<int:link_id>/qr.svg")
@admin_required
def link_qr(link_id: int):  # type: ignore[no-untyped-def]
    """A QR code of the link's short URL (the long signed URL when it has no short code)."""
    link = db.get_or_404(Link, link_id)
    svg = qr_svg(build_qr(_short_url(link) or form_url(link), max_version=40))
    return HttpResponse(svg, mimetype="image/svg+xml")


@bp.post("/links/<int:link_id>/revoke")
@admin_required
def revoke(link_id: int):  # type: ignore[no-untyped-def]
    """Stop a link from opening the form; ratings already stored stay."""
    link = db.get_or_404(Link, link_id)
    before = link_snapshot(link)
    revoke_link(db.session, link)
    audit("link.revoke", "link", link.id, campaign_id=link.campaign_id, before=before,
          after=link_snapshot(link))
    db.session.commit()
    flash("链接已撤销，扫描旧二维码将提示链接已失效。")
    return redirect(url_for("admin.links", campaign_id=link.campaign_id))


@bp.post("/links/<int:link_id>/reissue")
@admin_required
def reissue(link_id: int):  # type: ignore[no-untyped-def]
    """Revoke a link and issue a fresh one for the same units, channel and visit."""
    link = db.get_or_404(Link, link_id)
    if link.is_revoked:
        flash("该链接已撤销，请在有效链接上操作。", "error")
        return redirect(url_for("admin.links", campaign_id=link.campaign_id))
    before = link_snapshot(link)
    new = reissue_link(db.session, link)
    audit("link.reissue", "link", link.id, campaign_id=link.campaign_id, before=before,
          after={**link_snapshot(link), "new_link": link_snapshot(new), "new_link_id": new.id})
    db.session.commit()
    flash(f"已重新生成链接：{form_url(new)}")
    return redirect(url_for("admin.links", campaign_id=link.campaign_id))
