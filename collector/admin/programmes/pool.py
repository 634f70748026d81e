"""The sample pool page: import, draw, response rates, personal link list and QR cards."""

from __future__ import annotations

import csv
import io

from flask import Response, current_app, flash, redirect, render_template, request, url_for

from qr.cards import VisitCardSpec, cards_pdf
from qr.codes import short_url
from sync.models import Channel, Link
from sync.pool.sample import (
    PoolError,
    current_draw,
    draw_sample,
    draw_summary,
    import_pool,
    parse_fraction,
    personal_links,
    pool_state,
    response_rates,
)
from sync.unit_sheet import SheetError

from ...audit import audit
from ...auth import admin_required
from ...errors import render_error
from ...extensions import db
from ...links import form_url
from . import bp, campaign_or_404


@bp.get("/admin/campaigns/<int:campaign_id>/pool")
@admin_required
def pool(campaign_id: int):  # type: ignore[no-untyped-def]
    """Groups with pool size, drawn and responded counts; forms to import and draw."""
    campaign = campaign_or_404(campaign_id)
    return render_template("admin/programmes/pool.html", campaign=campaign,
                           rates=response_rates(db.session, campaign),
                           draw=current_draw(db.session, campaign),
                           channels=list(Channel))


@bp.post("/admin/campaigns/<int:campaign_id>/pool/import")
@admin_required
def pool_import(campaign_id: int):  # type: ignore[no-untyped-def]
    """Import the pool from a sheet (姓名, 组别, 手机); refused whole on a bad row."""
    campaign = campaign_or_404(campaign_id)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash("请选择要导入的文件。", "error")
        return redirect(url_for(".pool", campaign_id=campaign.id))
    try:
        before = pool_state(db.session, campaign)
        count = import_pool(db.session, campaign, file.filename, file.read())
        audit("pool.import", "pool", campaign.id, campaign_id=campaign.id, before=before,
              after={**pool_state(db.session, campaign), "file": file.filename})
        db.session.commit()
        flash(f"样本库已导入 {count} 人（同名同手机的多个组别合并为一人）。")
    except SheetError as exc:
        db.session.rollback()
        flash("导入失败，未作任何更改：" + "；".join(exc.errors), "error")
    except PoolError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for(".pool", campaign_id=campaign.id))


@bp.post("/admin/campaigns/<int:campaign_id>/pool/draw")
@admin_required
def pool_draw(campaign_id: int):  # type: ignore[no-untyped-def]
    """Draw a stratified sample (per group or a fraction) with a recorded seed."""
    campaign = campaign_or_404(campaign_id)
    mode, size = request.form.get("mode"), request.form.get("size", "").strip()
    try:
        channel = Channel(request.form.get("channel", Channel.SURVEY.value))
        if mode == "per_group":
            if not size.isdigit():
                raise PoolError("每组人数必须是正整数。")
            draw = draw_sample(db.session, campaign, request.form.get("seed", ""),
                               per_group=int(size), channel=channel)
        else:
            draw = draw_sample(db.session, campaign, request.form.get("seed", ""),
                               fraction=parse_fraction(size), channel=channel)
        audit("pool.draw", "pool_draw", draw.id, campaign_id=campaign.id, after=draw_summary(draw))
        db.session.commit()
        flash(f"已抽取 {len(draw.drawn)} 人，并为每人生成个人评议链接。")
    except (PoolError, ValueError) as exc:
        db.session.rollback()
        flash(getattr(exc, "message", "评议渠道无效。"), "error")
    return redirect(url_for(".pool", campaign_id=campaign.id))


def _links() -> list[tuple[str, str, Link]]:
    campaign = campaign_or_404(request.view_args["campaign_id"])  # type: ignore[index]
    out = []
    for row in personal_links(db.session, campaign):
        link = db.session.get(Link, row.link_id)
        assert link is not None
        out.append((row.name, row.group, link))
    return out


@bp.get("/admin/campaigns/<int:campaign_id>/pool/links.csv")
@admin_required
def pool_links_csv(campaign_id: int):  # type: ignore[no-untyped-def]
    """The drawn raters' personal links (姓名, 组别, 链接); no ratings in it."""
    try:
        rows = _links()
    except PoolError as exc:
        return render_error(404, exc.message)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "组别", "链接"])
    for name, group, link in rows:
        writer.writerow([name, group, form_url(link)])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=personal-links.csv"})


@bp.get("/admin/campaigns/<int:campaign_id>/pool/cards.pdf")
@admin_required
def pool_cards(campaign_id: int):  # type: ignore[no-untyped-def]
    """Printable personal QR cards, four to an A4 page."""
    campaign = campaign_or_404(campaign_id)
    try:
        rows = _links()
    except PoolError as exc:
        return render_error(404, exc.message)
    if not rows:
        return render_error(404, "本次抽样没有抽到评议人。")
    base = current_app.config["PUBLIC_BASE_URL"]
    cards = [VisitCardSpec(campaign_title=campaign.title, place=f"{name}（{group}）",
                           url=short_url(base, link.short_code or ""),
                           unit_names=tuple(u.name for u in link.units),
                           supervision_phone=campaign.supervision_phone,
                           heading="个人评议 · 扫码评议", place_label="评议人")
             for name, group, link in rows]
    return Response(cards_pdf(cards, title="个人评议卡"), mimetype="application/pdf",
                    headers={"Content-Disposition": "inline; filename=personal-cards.pdf"})
