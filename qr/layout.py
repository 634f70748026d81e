"""Drawing helpers shared by posters and visit cards: QR codes, fitted CJK text, dates."""

from __future__ import annotations

from datetime import date
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from .codes import QRSymbol, dark_runs
from .fonts import register_cjk_font


def draw_qr(canvas: Canvas, symbol: QRSymbol, x: float, y: float, side: float) -> None:
    """Draw the code, quiet zone included, as a `side`-wide square with its lower left at (x, y).

    One filled path for all dark modules: a rasteriser fills it as a single shape, so touching
    modules never show hairline seams.
    """
    module = side / symbol.size
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, side, side, stroke=0, fill=1)  # the quiet zone stays white on any paper
    path = canvas.beginPath()
    top = y + side
    for row, col, length in dark_runs(symbol):
        path.rect(x + col * module, top - (row + 1) * module, length * module, module)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def fit_text(
    text: str,
    *,
    width: float,
    size: float,
    max_lines: int = 1,
    min_size: float = 8,
    color: tuple[float, float, float] = (0, 0, 0),
) -> tuple[Paragraph, float]:
    """Return `text` as a centred paragraph, shrunk until it fits `width` in `max_lines`, and
    its height.

    CJK text has no spaces to break at, so lines wrap between characters (reportlab's CJK
    word wrap, which also keeps closing punctuation off the start of a line).
    """
    font = register_cjk_font()
    while True:
        style = ParagraphStyle("fitted", fontName=font, fontSize=size, leading=size * 1.25,
                               alignment=TA_CENTER, wordWrap="CJK", textColor=color)
        paragraph = Paragraph(escape(text), style)
        _, height = paragraph.wrap(width, 10_000)
        if len(paragraph.blPara.lines) <= max_lines or size <= min_size:
            return paragraph, height
        size = max(min_size, size * 0.9)


def draw_fitted(canvas: Canvas, text: str, *, x: float, top: float, width: float,
                **fit: Any) -> float:
    """Draw fit_text(text, ...) with its top at `top`; return the height used."""
    paragraph, height = fit_text(text, width=width, **fit)
    paragraph.drawOn(canvas, x, top - height)
    return height


def cn_date(day: date) -> str:
    """Format a date the way notices print it: 2026年3月31日."""
    return f"{day.year}年{day.month}月{day.day}日"


def date_range(opens_on: date | None, closes_on: date | None) -> str | None:
    """Return 评议时间 as printed, or None when neither date is set."""
    if opens_on and closes_on:
        return f"{cn_date(opens_on)} 至 {cn_date(closes_on)}"
    if closes_on:
        return f"即日起至 {cn_date(closes_on)}"
    if opens_on:
        return f"{cn_date(opens_on)} 起"
    return None


def a4_canvas(buffer: BinaryIO, title: str) -> Canvas:
    """Start an A4 PDF in the embedded CJK font, titled for the viewer's window."""
    # Starting in the CJK font keeps a non-embedded Helvetica out of the PDF altogether.
    canvas = Canvas(buffer, pagesize=A4, initialFontName=register_cjk_font())
    canvas.setTitle(title)
    canvas.setCreator("评议收集器 Pingyi Collector")
    return canvas
