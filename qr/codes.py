"""QR codes for printed links: low density (version ≤ 5), strongest error correction that fits.

A poster is scanned from a metre away, by poor cameras, through months of dust and tape. Fewer,
larger modules scan better than more error correction, so the version is capped first and the
error-correction level is the best one that still fits under the cap.
"""

from __future__ import annotations

import functools
import io
import itertools
from dataclasses import dataclass, field

import qrcode
import qrcode.constants
import qrcode.image.svg
from PIL import Image
from qrcode.image.pil import PilImage

MAX_VERSION = 5
# qrcode's SVG images are 1 mm per module at box size 10; PNGs are resized from the same image.
SVG_MODULE_BOX = 10
#: the standard's minimum quiet zone, in modules; never trimmed
QUIET_ZONE = 4

# Strongest first: H restores 30 % of damaged codewords, Q 25 %, M 15 %.
ERROR_LEVELS = (
    ("H", qrcode.constants.ERROR_CORRECT_H),
    ("Q", qrcode.constants.ERROR_CORRECT_Q),
    ("M", qrcode.constants.ERROR_CORRECT_M),
)


class QRTooDense(ValueError):
    """The data does not fit in a version-5 code even at error correction M."""


@dataclass(frozen=True)
class QRSymbol:
    """A built QR code: its data, version, error-correction level and module matrix."""

    data: str
    version: int
    error_level: str
    #: rows of dark (True) / light modules, quiet zone included
    matrix: tuple[tuple[bool, ...], ...]
    code: qrcode.QRCode = field(repr=False, compare=False)

    @property
    def size(self) -> int:
        """Width in modules, quiet zone included."""
        return len(self.matrix)


def short_url(base_url: str, short_code: str) -> str:
    """Return the URL a QR code encodes: the short /q/<code> redirect."""
    return f"{base_url.rstrip('/')}/q/{short_code}"


# Choosing the mask pattern dominates encoding time; a print set encodes each URL three times
# (PDF, PNG, SVG), so symbols are cached. They are only ever read.
@functools.lru_cache(maxsize=2048)
def build_qr(data: str, max_version: int = MAX_VERSION) -> QRSymbol:
    """Encode `data` at the strongest error correction that keeps the version ≤ `max_version`.

    :raise QRTooDense: the data is too long even at level M.
    """
    for name, level in ERROR_LEVELS:
        code = qrcode.QRCode(error_correction=level, border=QUIET_ZONE,
                             box_size=SVG_MODULE_BOX)
        code.add_data(data)
        version = code.best_fit()
        if version <= max_version:
            code.version = version
            code.make(fit=False)
            matrix = tuple(tuple(row) for row in code.get_matrix())
            return QRSymbol(data=data, version=version, error_level=name, matrix=matrix,
                            code=code)
    raise QRTooDense(
        f"{len(data.encode())} bytes do not fit a version-{max_version} QR code at level M; "
        "shorten PUBLIC_BASE_URL")


def qr_svg(symbol: QRSymbol) -> str:
    """Return the code as a standalone SVG document: one path on a white square, 1 mm/module."""
    image = symbol.code.make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return image.to_string(encoding="unicode")


def qr_png(symbol: QRSymbol, module_px: int = 10) -> bytes:
    """Return the code as a black-on-white PNG, `module_px` pixels per module."""
    buffer = io.BytesIO()
    qr_image(symbol, module_px).save(buffer, format="PNG")
    return buffer.getvalue()


def qr_image(symbol: QRSymbol, module_px: int = 10) -> Image.Image:
    """Return the code as a 1-bit Pillow image, `module_px` pixels per module."""
    image = symbol.code.make_image(image_factory=PilImage).get_image()
    side = symbol.size * module_px
    if image.size == (side, side):
        return image
    # Nearest-neighbour keeps module edges sharp: no grey pixels for a decoder to misread.
    return image.resize((side, side), Image.Resampling.NEAREST)


def dark_runs(symbol: QRSymbol) -> list[tuple[int, int, int]]:
    """Return horizontal runs of dark modules as (row, first column, length).

    Drawing runs instead of single modules keeps vector output small and leaves no hairline gaps
    between neighbouring modules when a viewer anti-aliases.
    """
    runs = []
    for row, cells in enumerate(symbol.matrix):
        col = 0
        for dark, group in itertools.groupby(cells):
            length = len(list(group))
            if dark:
                runs.append((row, col, length))
            col += length
    return runs
