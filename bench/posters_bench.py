"""Benchmark: the print set for 100 units (poster PDF, a labelled PNG and an SVG per unit).

Goal: ≤ 10 s on the 2-core development machine. Run on demand:

    .venv/bin/python bench/posters_bench.py [--units 100]

The baseline, measured in the same run, is reportlab alone writing the same number of A4 pages
of text in the same embedded CJK font: the ratio shows what the QR codes and layout add.
"""

from __future__ import annotations

import argparse
import io
import time
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from qr.fonts import register_cjk_font
from qr.printset import print_set_files
from sync.campaigns import add_units, create_campaign
from sync.models import Base
from sync.posters import poster_specs

BASE_URL = "https://pingyi.example.gov.cn"


def baseline(pages: int) -> float:
    """Seconds for reportlab to write `pages` A4 pages of CJK text, nothing else."""
    font = register_cjk_font()
    started = time.perf_counter()
    canvas = Canvas(io.BytesIO(), pagesize=A4, initialFontName=font)
    for n in range(pages):
        canvas.setFont(font, 40)
        canvas.drawCentredString(A4[0] / 2, A4[1] / 2, f"第{n}号单位 扫码评议 评议监督电话")
        canvas.showPage()
    canvas.save()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100)
    args = parser.parse_args()

    register_cjk_font()  # font loading is a one-off per process, not per poster
    base = baseline(args.units)

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        campaign = create_campaign(session, "2026年度基层群众评议机关作风", 2026,
                                   opens_on=date(2026, 10, 1), closes_on=date(2026, 12, 31),
                                   supervision_phone="0791-83869993")
        add_units(session, campaign, {"政府工作部门": [
            (f"U{n:03d}", f"第{n}号行政服务窗口单位") for n in range(args.units)]})
        session.commit()

        started = time.perf_counter()
        posters = poster_specs(session, campaign, BASE_URL)  # issues 100 poster links
        session.commit()
        specs = time.perf_counter() - started

        started = time.perf_counter()
        sizes: dict[str, int] = {}
        for name, content in print_set_files(posters, []):
            kind = name.rsplit(".", 1)[1]
            sizes[kind] = sizes.get(kind, 0) + len(content)
        files = time.perf_counter() - started

    total = specs + files
    print(f"units: {args.units}")
    print(f"baseline (reportlab, {args.units} plain CJK pages): {base:.2f} s")
    print(f"links and specs from the store: {specs:.2f} s")
    print(f"posters PDF + {args.units} PNG + {args.units} SVG: {files:.2f} s "
          f"({files / base:.1f}x baseline)")
    print("bytes: " + ", ".join(f"{kind} {size / 1e6:.1f} MB" for kind, size in sizes.items()))
    print(f"total: {total:.2f} s (goal <= 10 s: {'met' if total <= 10 else 'MISSED'})")


if __name__ == "__main__":
    main()
