"""A4 posters, one per unit, for the windows of a service hall (PDF, CJK font embedded)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .codes import build_qr
from .fonts import register_cjk_font
from .layout import a4_canvas, date_range, draw_fitted, draw_qr, fit_text

#: government red for the title band and the call to action
RED = (0.78, 0.09, 0.11)
GREY = (0.35, 0.35, 0.35)
#: the printed square, quiet zone included; a version-5 symbol is then ≥ 10.6 cm wide, which
#: phones read from a metre and more (the usual rule: distance ≈ 10 × symbol width)
POSTER_QR_SIDE = 130 * mm
#: the poster's fixed wording, shared with the HTML poster so both print the same words
WORDING = {
    "kicker": "群众评议 · 监督作风",
    "call_to_action": "扫码评议",
    "scan_hint": "打开微信“扫一扫”，为本单位的作风打分、提意见",
    "fallback_hint": "无法扫码时，请在手机浏览器中输入：",
}


@dataclass(frozen=True)
class PosterSpec:
    """What one unit's poster shows. `url` is encoded in the QR and printed as the fallback."""

    campaign_title: str
    unit_code: str
    unit_name: str
    url: str
    category: str | None = None
    supervision_phone: str | None = None
    opens_on: date | None = None
    closes_on: date | None = None

    @property
    def dates(self) -> str | None:
        return date_range(self.opens_on, self.closes_on)


def posters_pdf(posters: Iterable[PosterSpec], title: str = "评议二维码海报") -> bytes:
    """Return one A4 PDF with a page per poster.

    :raise ValueError: when there is no poster to print.
    """
    buffer = io.BytesIO()
    canvas = a4_canvas(buffer, title)
    pages = 0
    for poster in posters:
        draw_poster(canvas, poster)
        canvas.showPage()
        pages += 1
    if pages == 0:
        raise ValueError("no poster to print")
    canvas.save()
    return buffer.getvalue()


def draw_poster(canvas: Canvas, poster: PosterSpec) -> None:
    """Draw one poster on the current A4 page."""
    font = register_cjk_font()
    width, height = A4
    margin = 15 * mm
    text_width = width - 2 * margin

    # Title band.
    band = 46 * mm
    canvas.setFillColorRGB(*RED)
    canvas.rect(0, height - band, width, band, stroke=0, fill=1)
    canvas.setFillColorRGB(1, 1, 1)
    canvas.setFont(font, 13)
    canvas.drawCentredString(width / 2, height - 12 * mm, WORDING["kicker"])
    title, title_height = fit_text(poster.campaign_title, width=text_width, size=22, max_lines=2,
                                   min_size=14, color=(1, 1, 1))
    # Centred in the band below the kicker, whether the title takes one line or two.
    title.drawOn(canvas, margin, height - (band + 17 * mm) / 2 - title_height / 2)

    # Who is rated, and what to do.
    top = height - band - 8 * mm
    # One line down to 26 pt; a longer name wraps at 26 pt rather than shrinking the code.
    top -= draw_fitted(canvas, poster.unit_name, x=margin, top=top, width=text_width, size=40,
                       min_size=26)
    if poster.category:
        top -= 1 * mm
        top -= draw_fitted(canvas, poster.category, x=margin, top=top, width=text_width,
                           size=12, color=GREY)
    top -= 4 * mm
    top -= draw_fitted(canvas, WORDING["call_to_action"], x=margin, top=top, width=text_width,
                       size=44, color=RED)
    top -= draw_fitted(canvas, WORDING["scan_hint"], x=margin, top=top,
                       width=text_width, size=14, color=GREY)

    # The code, as large as the rest of the page allows: with a two-line unit name the symbol
    # is still ≥ 10 cm wide (tests/test_posters.py measures it).
    footer_band = 28 * mm
    fallback = 16 * mm  # the short URL and its hint
    side = min(POSTER_QR_SIDE, top - 3 * mm - fallback - footer_band - 6 * mm)
    qr_x = (width - side) / 2
    draw_qr(canvas, build_qr(poster.url), qr_x, top - 3 * mm - side, side)

    # The short URL for phones whose camera fails, typed by hand.
    url_top = top - 3 * mm - side - 2 * mm
    draw_fitted(canvas, WORDING["fallback_hint"], x=margin, top=url_top,
                width=text_width, size=11, color=GREY)
    draw_fitted(canvas, poster.url, x=margin, top=url_top - 5 * mm, width=text_width, size=16)

    # Footer: when, and whom to call.
    canvas.setFillColorRGB(0.95, 0.95, 0.95)
    canvas.rect(0, 0, width, footer_band, stroke=0, fill=1)
    canvas.setFillColorRGB(*RED)
    canvas.rect(0, footer_band, width, 1.2 * mm, stroke=0, fill=1)
    lines = []
    if poster.dates:
        lines.append(f"评议时间：{poster.dates}")
    if poster.supervision_phone:
        lines.append(f"评议监督电话：{poster.supervision_phone}")
    line_top = footer_band - 4 * mm
    for line in lines:
        line_top -= draw_fitted(canvas, line, x=margin, top=line_top, width=text_width, size=13)
    canvas.setFillColorRGB(*GREY)
    canvas.setFont(font, 8)
    canvas.drawRightString(width - 6 * mm, 4 * mm, f"编号 {poster.unit_code}")
