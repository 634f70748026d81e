"""Find and register the CJK font posters embed (Debian's fonts-wqy-zenhei).

PDF viewers without Chinese fonts (and many print shops' RIPs) show boxes for text in a
non-embedded font, so posters embed a subset of a TrueType CJK font rather than name one.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

#: overrides the search, e.g. for a deployment with another CJK TrueType font
FONT_ENV = "PINGYI_CJK_FONT"
FONT_FAMILY = "WenQuanYi Zen Hei"
KNOWN_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/local/share/fonts/wqy-zenhei.ttc",
)
#: the name reportlab knows the registered font by
PDF_FONT_NAME = "PingyiCJK"


class FontMissing(RuntimeError):
    """No usable CJK font was found; the message says how to install one."""


def find_cjk_font() -> Path:
    """Return the path of the CJK TrueType font: $PINGYI_CJK_FONT, fc-match, or a known path.

    :raise FontMissing: with the install command to run.
    """
    override = os.environ.get(FONT_ENV)
    if override:
        if Path(override).is_file():
            return Path(override)
        raise FontMissing(f"{FONT_ENV}={override} is not a file")
    for candidate in (_fc_match(), *KNOWN_PATHS):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(
        f"no CJK font found for posters: install Debian's fonts-wqy-zenhei "
        f"(apt-get install fonts-wqy-zenhei, see scripts/system-deps.sh) or set {FONT_ENV} "
        "to a TrueType font with Chinese glyphs")


def _fc_match() -> str | None:
    """Ask fontconfig for the WenQuanYi file, if fontconfig is installed and has it."""
    if shutil.which("fc-match") is None:
        return None
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", FONT_FAMILY], capture_output=True,
                               text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    # fc-match always answers with *some* font; only a WenQuanYi file is known to cover CJK.
    return found if "wqy" in found.lower() else None


@functools.cache
def register_cjk_font() -> str:
    """Register the CJK font with reportlab once and return its name for setFont()."""
    # In wqy-zenhei.ttc the first face (index 0) is the proportional Zen Hei; reportlab embeds
    # only the glyphs used, so a 100-page PDF stays small.
    pdfmetrics.registerFont(TTFont(PDF_FONT_NAME, str(find_cjk_font()), subfontIndex=0))
    return PDF_FONT_NAME
