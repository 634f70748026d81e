"""The print-ready HTML poster, printed by Chromium: one A4 page per unit, and the code scans."""

from __future__ import annotations

import pytest
from pyzbar.pyzbar import decode
from qr_helpers import open_scanned, pdf_pages, pdf_text, sign_in

DPI = 100


@pytest.mark.browser
def test_html_poster_prints_to_a4_pages_that_scan(client, session, make_campaign, tmp_path,
                                                  artifacts_dir, browser):
    long_name = "国家税务总局某某市某某区税务局第一税务分局办税服务厅"
    campaign = make_campaign(title="市直机关作风评议", supervision_phone="12345", units={
        "政府工作部门": [("ZF01", "市场监管局"), ("ZF02", "人社局")],
        "中直单位": [("ZZ01", long_name)]})
    sign_in(client, session)
    html = client.get(f"/admin/campaigns/{campaign.id}/posters/print").get_data(as_text=True)

    page = browser.new_page()
    try:
        page.set_content(html)  # self-contained: no request leaves the page
        page.emulate_media(media="print")
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    finally:
        page.close()

    pages = pdf_pages(pdf, tmp_path, DPI)
    assert len(pages) == 3
    assert all(abs(page.width - 827) <= 2 and abs(page.height - 1169) <= 2 for page in pages)
    pages[0].save(f"{artifacts_dir}/poster-html-page-1.png")
    pages[2].save(f"{artifacts_dir}/poster-html-long-name.png")
    for page, name in zip(pages, ("市场监管局", "人社局", long_name), strict=False):
        (found,) = decode(page.convert("L"))
        assert found.rect.width / DPI * 25.4 >= 100  # ≥ 10 cm: scans from a metre
        form = open_scanned(client, found.data.decode())
        assert name in form.get_data(as_text=True)
    text = pdf_text(pdf)
    assert "市直机关作风评议" in text and "扫码评议" in text and "12345" in text
