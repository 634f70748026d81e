"""A6 cards for field staff's village visits (入户访谈), four to an A4 page with cut marks."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import islice

from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .codes import build_qr
from .layout import a4_canvas, cn_date, draw_fitted, draw_qr

GREEN = (0.03, 0.55, 0.29)
GREY = (0.35, 0.35, 0.35)
CARD_QR_SIDE = 78 * mm  # read at arm's length: a version-5 symbol is still 6.4 cm wide
#: a visit may cover many units; the card names the first few and counts the rest
MAX_UNIT_NAMES = 6
CARDS_PER_PAGE = 4


@dataclass(frozen=True)
class VisitCardSpec:
    """What one visit's card shows. `url` is encoded in the QR and printed as the fallback."""

    campaign_title: str
    place: str
    url: str
    staff_name: str | None = None
    visit_date: date | None = None
    unit_names: tuple[str, ...] = ()
    supervision_phone: str | None = None
    #: the card's banner; a pool rater's personal card says 个人评议
    heading: str = "入户访谈 · 扫码评议"
    #: the label before `place` (走访地点, or 评议人 on a personal card)
    place_label: str = "走访地点"


def cards_pdf(cards: Iterable[VisitCardSpec], title: str = "入户访谈评议卡") -> bytes:
    """Return an A4 PDF with four A6 cards per page (2 × 2, portrait), cut lines between.

    :raise ValueError: when there is no card to print.
    """
    buffer = io.BytesIO()
    canvas = a4_canvas(buffer, title)
    card_width, card_height = A6
    # Top left, top right, bottom left, bottom right: reading order once cut.
    slots = [(0, card_height), (card_width, card_height), (0, 0), (card_width, 0)]
    cards_iter = iter(cards)
    pages = 0
    while page := list(islice(cards_iter, CARDS_PER_PAGE)):
        for card, (x, y) in zip(page, slots, strict=False):
            canvas.saveState()
            canvas.translate(x, y)
            draw_card(canvas, card)
            canvas.restoreState()
        _draw_cut_lines(canvas)
        canvas.showPage()
        pages += 1
    if pages == 0:
        raise ValueError("no visit card to print")
    canvas.save()
    return buffer.getvalue()


def _draw_cut_lines(canvas: Canvas) -> None:
    width, height = A4
    canvas.saveState()
    canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
    canvas.setLineWidth(0.4)
    canvas.setDash(3, 3)
    canvas.line(width / 2, 0, width / 2, height)
    canvas.line(0, height / 2, width, height / 2)
    canvas.restoreState()


def draw_card(canvas: Canvas, card: VisitCardSpec) -> None:
    """Draw one card in the A6 box whose lower left corner is the current origin."""
    width, height = A6
    margin = 7 * mm
    text_width = width - 2 * margin

    band = 20 * mm
    canvas.setFillColorRGB(*GREEN)
    canvas.rect(0, height - band, width, band, stroke=0, fill=1)
    draw_fitted(canvas, card.heading, x=margin, top=height - 3 * mm, width=text_width,
                size=15, color=(1, 1, 1))
    draw_fitted(canvas, card.campaign_title, x=margin, top=height - 10.5 * mm,
                width=text_width, size=9, min_size=6, color=(1, 1, 1))

    top = height - band - 3 * mm
    top -= draw_fitted(canvas, f"{card.place_label}：{card.place}", x=margin, top=top,
                       width=text_width,
                       size=15, min_size=9)
    details = []
    if card.staff_name:
        details.append(f"走访人员：{card.staff_name}")
    if card.visit_date:
        details.append(f"走访日期：{cn_date(card.visit_date)}")
    if details:
        top -= draw_fitted(canvas, "　".join(details), x=margin, top=top, width=text_width,
                           size=9.5, min_size=7, color=GREY)

    side = CARD_QR_SIDE
    draw_qr(canvas, build_qr(card.url), (width - side) / 2, top - side, side)
    top -= side + 1 * mm

    top -= draw_fitted(canvas, card.url, x=margin, top=top, width=text_width, size=9,
                       min_size=6)
    if card.unit_names:
        top -= draw_fitted(canvas, f"评议对象：{_unit_list(card.unit_names)}", x=margin, top=top,
                           width=text_width, size=7.5, max_lines=2, min_size=6, color=GREY)
    if card.supervision_phone:
        draw_fitted(canvas, f"评议监督电话：{card.supervision_phone}", x=margin, top=top,
                    width=text_width, size=7.5, color=GREY)


def _unit_list(names: tuple[str, ...]) -> str:
    """Return 组织部、宣传部 or, for long lists, 组织部、宣传部…等12个单位."""
    if len(names) <= MAX_UNIT_NAMES:
        return "、".join(names)
    return "、".join(names[:MAX_UNIT_NAMES]) + f"等{len(names)}个单位"
