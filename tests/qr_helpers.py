"""Helpers for the QR and poster tests: decode codes with a real decoder (zbar), read PDFs
with poppler, and follow a decoded URL through /q/ to the form."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import cairosvg
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode
from werkzeug.security import generate_password_hash

from collector.auth import session_stamp
from sync.models import Role, User

BASE_URL = "http://testserver"  # PUBLIC_BASE_URL in tests/conftest.py


def decode_image(image: Image.Image) -> list[str]:
    """Return the text of every QR code zbar finds in the image."""
    return [found.data.decode() for found in decode(image.convert("L"),
                                                     symbols=[ZBarSymbol.QRCODE])]


def decode_png(content: bytes) -> list[str]:
    return decode_image(Image.open(io.BytesIO(content)))


def decode_svg(svg: str, width: int = 600) -> list[str]:
    """Rasterise the SVG with cairosvg (libcairo) and decode it."""
    return decode_png(cairosvg.svg2png(bytestring=svg.encode(), output_width=width))


def pdf_pages(pdf: bytes, workdir: Path, dpi: int = 100) -> list[Image.Image]:
    """Render every page with poppler's pdftoppm at `dpi`."""
    source = workdir / "render.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(workdir / "page")],
                   check=True)
    pages = []
    for path in sorted(workdir.glob("page-*.png")):  # pdftoppm zero-pads, so this is page order
        with Image.open(path) as image:
            pages.append(image.copy())
        path.unlink()  # a later call in the same test must not see these pages
    return pages


def pdf_text(pdf: bytes) -> str:
    """Return the PDF's text as poppler's pdftotext extracts it."""
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def pdf_fonts(pdf: bytes) -> str:
    """Return poppler's pdffonts table (name, type, emb, sub, uni …)."""
    return subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def sign_in(client, session, role=Role.ADMIN):  # type: ignore[no-untyped-def]
    """Sign the test client in as a new user with `role` (before its first request: the test
    app context, and so `g`, lives across requests)."""
    user = User(username=f"u-{role.value}", password_hash=generate_password_hash("x"), role=role)
    session.add(user)
    session.commit()
    with client.session_transaction() as cookie:
        cookie["user_id"] = user.id
        cookie["stamp"] = session_stamp(user)


def open_scanned(client, url: str):  # type: ignore[no-untyped-def]
    """Open a decoded URL like a phone: the /q/ short link, then the form it redirects to."""
    assert url.startswith(BASE_URL + "/q/"), url
    hop = client.get(urlsplit(url).path)
    assert hop.status_code == 302, hop.status_code
    target = urlsplit(hop.headers["Location"])
    assert f"{target.scheme}://{target.netloc}" == BASE_URL and target.path.startswith("/s/")
    return client.get(target.path)
