"""A campaign's whole print set: posters PDF, visit cards PDF, a labelled PNG and SVG per unit."""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from PIL import Image, ImageDraw, ImageFont

from .cards import VisitCardSpec, cards_pdf
from .codes import build_qr, qr_image, qr_svg
from .fonts import find_cjk_font
from .posters import PosterSpec, posters_pdf

POSTERS_FILE = "posters.pdf"
CARDS_FILE = "visit-cards.pdf"
PNG_MODULE_PX = 12
T = TypeVar("T")


def unit_file_stem(poster: PosterSpec) -> str:
    """Return a file name stem such as ZF01-市场监管局, safe on Windows, macOS and Linux."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", f"{poster.unit_code}-{poster.unit_name}")[:80]


@functools.cache
def _caption_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(find_cjk_font()), size, index=0)


def labelled_png(poster: PosterSpec, module_px: int = PNG_MODULE_PX) -> bytes:
    """Return the unit's QR code as a PNG with its name and short URL printed underneath.

    The caption sits below the quiet zone, so the code itself keeps its full margin.
    """
    code = qr_image(build_qr(poster.url), module_px).convert("L")
    side = code.width
    caption = 10 * module_px
    image = Image.new("L", (side, side + caption), 255)
    image.paste(code, (0, 0))
    draw = ImageDraw.Draw(image)
    y = side  # below the quiet zone, never inside it
    for text, size in ((poster.unit_name, 4 * module_px), (poster.url, int(2.2 * module_px))):
        font = _fit_font(draw, text, size, side - 2 * module_px)
        draw.text((side / 2, y), text, font=font, fill=0, anchor="ma")
        y += int(size * 1.35)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _fit_font(draw: ImageDraw.ImageDraw, text: str, size: int,
              width: int) -> ImageFont.FreeTypeFont:
    """Return the caption font at `size`, smaller if the text would overflow `width`."""
    font = _caption_font(size)
    text_width = draw.textlength(text, font=font)
    if text_width <= width:
        return font
    return _caption_font(max(8, int(size * width / text_width)))


def _counted(items: Iterable[T], on_step: Callable[[], None] | None) -> Iterator[T]:
    for item in items:
        yield item
        if on_step:
            on_step()


def print_set_steps(posters: Sequence[PosterSpec], cards: Sequence[VisitCardSpec]) -> int:
    """Return how many steps print_set_files reports (for a progress bar's length)."""
    return 2 * len(posters) + (1 if cards else 0)


def print_set_files(
    posters: Sequence[PosterSpec],
    cards: Sequence[VisitCardSpec],
    on_step: Callable[[], None] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield (relative path, content) for the posters PDF, the cards PDF (when there are
    visits) and a PNG and SVG per unit, calling `on_step` after each poster page and each PNG.
    """
    yield POSTERS_FILE, posters_pdf(_counted(posters, on_step))
    if cards:
        yield CARDS_FILE, cards_pdf(cards)
        if on_step:
            on_step()
    for poster in _counted(posters, on_step):
        stem = unit_file_stem(poster)
        yield f"png/{stem}.png", labelled_png(poster)
        yield f"svg/{stem}.svg", qr_svg(build_qr(poster.url)).encode()


def print_set_zip(posters: Sequence[PosterSpec], cards: Sequence[VisitCardSpec]) -> bytes:
    """Return the print set as one ZIP archive (file names in UTF-8)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in print_set_files(posters, cards):
            archive.writestr(name, content)
    return buffer.getvalue()
