"""Cadre downloads for a campaign's print set: posters, visit cards, PNG/SVG codes, ZIP, HTML."""

from __future__ import annotations

import io

from flask import Blueprint, current_app, render_template, request, send_file

from qr.cards import cards_pdf
from qr.codes import QRTooDense, build_qr, qr_svg
from qr.fonts import FontMissing
from qr.posters import WORDING, PosterSpec, posters_pdf
from qr.printset import labelled_png, print_set_zip, unit_file_stem
from sync.models import Campaign
from sync.posters import issue_poster_links, poster_specs, visit_card_specs

from ..audit import audit, who
from ..auth import admin_required
from ..errors import render_error
from ..extensions import db

bp = Blueprint("admin_posters", __name__,
               url_prefix="/admin/campaigns/<int:campaign_id>/posters")

NO_CAMPAIGN = "评议活动不存在，请从管理首页重新进入。"
NO_UNITS = "该评议活动还没有评议对象，无法生成海报。"
NO_VISITS = "该评议活动还没有走访记录，无法生成入户评议卡。"
NO_UNIT = "该评议活动中没有这个单位编号。"
NO_FONT = "服务器缺少中文字体，暂时无法生成 PDF，请联系系统管理员安装 fonts-wqy-zenhei。"
URL_TOO_LONG = "系统公开网址（PUBLIC_BASE_URL）过长，二维码会过密难以扫描，请联系系统管理员缩短。"


class _NotFound(Exception):
    """A campaign, unit or visit list that is not there: answered with a Chinese 404 page."""


@bp.errorhandler(_NotFound)
def _not_found(exc: _NotFound):  # type: ignore[no-untyped-def]
    return render_error(404, str(exc))


@bp.errorhandler(FontMissing)
def _font_missing(exc: FontMissing):  # type: ignore[no-untyped-def]
    current_app.logger.error("poster font missing: %s", exc)
    return render_error(503, NO_FONT)


@bp.errorhandler(QRTooDense)
def _url_too_long(exc: QRTooDense):  # type: ignore[no-untyped-def]
    current_app.logger.error("poster QR too dense: %s", exc)
    return render_error(503, URL_TOO_LONG)


def _campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise _NotFound(NO_CAMPAIGN)
    return campaign


def _posters(campaign: Campaign) -> list[PosterSpec]:
    """The campaign's poster specs; issuing (and auditing) missing poster links is committed at
    once."""
    issue_poster_links(db.session, campaign, **who())
    posters = poster_specs(db.session, campaign, current_app.config["PUBLIC_BASE_URL"])
    db.session.commit()
    if not posters:
        raise _NotFound(NO_UNITS)
    return posters


def _poster(campaign: Campaign, unit_code: str) -> PosterSpec:
    found = next((p for p in _posters(campaign) if p.unit_code == unit_code), None)
    if found is None:
        raise _NotFound(NO_UNIT)
    return found


def _download(content: bytes, mimetype: str, name: str):  # type: ignore[no-untyped-def]
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True,
                     download_name=name)


@bp.get("/")
@admin_required
def index(campaign_id: int):  # type: ignore[no-untyped-def]
    """List the units' short links with every download."""
    campaign = _campaign(campaign_id)
    posters = _posters(campaign)
    cards = visit_card_specs(db.session, campaign, current_app.config["PUBLIC_BASE_URL"])
    return render_template("admin/posters.html", campaign=campaign, posters=posters,
                           cards=cards, file_stem=unit_file_stem)


def _audit_print_set(campaign: Campaign, what: str) -> None:
    """A print file carries signed links: who took which one is on record."""
    audit("posters.download", "campaign", campaign.id, campaign_id=campaign.id,
          after={"file": what})
    db.session.commit()


@bp.get("/posters.pdf")
@admin_required
def posters_file(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _campaign(campaign_id)
    content = posters_pdf(_posters(campaign), title=f"{campaign.title} 评议海报")
    _audit_print_set(campaign, "posters.pdf")
    return _download(content, "application/pdf", f"posters-{campaign.id}.pdf")


@bp.get("/visit-cards.pdf")
@admin_required
def cards_file(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _campaign(campaign_id)
    cards = visit_card_specs(db.session, campaign, current_app.config["PUBLIC_BASE_URL"])
    if not cards:
        raise _NotFound(NO_VISITS)
    content = cards_pdf(cards, title=f"{campaign.title} 入户评议卡")
    _audit_print_set(campaign, "visit-cards.pdf")
    return _download(content, "application/pdf", f"visit-cards-{campaign.id}.pdf")


@bp.get("/print-set.zip")
@admin_required
def zip_file(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _campaign(campaign_id)
    cards = visit_card_specs(db.session, campaign, current_app.config["PUBLIC_BASE_URL"])
    content = print_set_zip(_posters(campaign), cards)
    _audit_print_set(campaign, "print-set.zip")
    return _download(content, "application/zip", f"print-set-{campaign.id}.zip")


@bp.get("/units/<unit_code>.png")
@admin_required
def unit_png(campaign_id: int, unit_code: str):  # type: ignore[no-untyped-def]
    poster = _poster(_campaign(campaign_id), unit_code)
    return _download(labelled_png(poster), "image/png", f"{unit_file_stem(poster)}.png")


@bp.get("/units/<unit_code>.svg")
@admin_required
def unit_svg(campaign_id: int, unit_code: str):  # type: ignore[no-untyped-def]
    poster = _poster(_campaign(campaign_id), unit_code)
    return _download(qr_svg(build_qr(poster.url)).encode(), "image/svg+xml",
                     f"{unit_file_stem(poster)}.svg")


@bp.get("/print")
@admin_required
def print_page(campaign_id: int):  # type: ignore[no-untyped-def]
    """Print-ready HTML posters (CSS @page A4), all units or `?unit=CODE`."""
    campaign = _campaign(campaign_id)
    unit_code = request.args.get("unit")
    posters = [_poster(campaign, unit_code)] if unit_code else _posters(campaign)
    pages = [(poster, qr_svg(build_qr(poster.url))) for poster in posters]
    return render_template("posters/poster.html", campaign=campaign, pages=pages,
                           wording=WORDING)
