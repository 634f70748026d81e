"""Admin downloads under /admin/campaigns/<id>/posters: guarded, and every file scans."""

from __future__ import annotations

import io
import zipfile

import pytest
from qr_helpers import (
    decode_image,
    decode_png,
    decode_svg,
    open_scanned,
    pdf_pages,
    pdf_text,
    sign_in,
)

from sync.campaigns import create_visit
from sync.links import issue_link
from sync.models import Channel, Role


@pytest.fixture
def admin(client, session):  # type: ignore[no-untyped-def]
    sign_in(client, session)
    return client


@pytest.fixture
def campaign(make_campaign, session):  # type: ignore[no-untyped-def]
    campaign = make_campaign(title="市直机关作风评议", supervision_phone="12345")
    visit = create_visit(session, campaign, "红星村", "李明")
    issue_link(session, campaign, campaign.units[:2], Channel.VISIT, visit)
    session.commit()
    return campaign


def _base(campaign) -> str:  # type: ignore[no-untyped-def]
    return f"/admin/campaigns/{campaign.id}/posters"


@pytest.mark.parametrize("path", ["/", "/posters.pdf", "/visit-cards.pdf", "/print-set.zip",
                                  "/units/ZF01.png", "/units/ZF01.svg", "/print"])
def test_pages_send_anonymous_visitors_to_login(client, campaign, path):
    reply = client.get(_base(campaign) + path)
    assert reply.status_code == 302 and "/admin/login" in reply.headers["Location"]


def test_pages_refuse_unit_secretaries(client, session, campaign):
    sign_in(client, session, Role.SECRETARY)
    assert client.get(_base(campaign) + "/posters.pdf").status_code == 403


def test_index_lists_every_unit_and_download(admin, campaign):
    reply = admin.get(_base(campaign) + "/")
    assert reply.status_code == 200
    body = reply.get_data(as_text=True)
    for needed in ("市直机关作风评议", "市场监管局", "人社局", "税务局", "http://testserver/q/",
                   "posters.pdf", "visit-cards.pdf", "print-set.zip", "/units/ZZ01.png",
                   "/units/ZZ01.svg", "/print?unit=ZZ01"):
        assert needed in body


def test_pdf_downloads_scan_to_the_forms(admin, campaign, tmp_path):
    reply = admin.get(_base(campaign) + "/posters.pdf")
    assert reply.status_code == 200 and reply.mimetype == "application/pdf"
    assert "attachment" in reply.headers["Content-Disposition"]
    pages = pdf_pages(reply.data, tmp_path)
    assert len(pages) == 3
    for page, name in zip(pages, ("市场监管局", "人社局", "税务局"), strict=False):
        (url,) = decode_image(page)
        assert name in open_scanned(admin, url).get_data(as_text=True)
    assert "市直机关作风评议" in pdf_text(reply.data)

    cards = admin.get(_base(campaign) + "/visit-cards.pdf")
    assert cards.status_code == 200
    (url,) = decode_image(pdf_pages(cards.data, tmp_path, 150)[0])
    assert open_scanned(admin, url).status_code == 200
    assert "红星村" in pdf_text(cards.data)


def test_unit_png_and_svg_scan_to_that_unit(admin, campaign):
    png = admin.get(_base(campaign) + "/units/ZF02.png")
    svg = admin.get(_base(campaign) + "/units/ZF02.svg")
    assert png.mimetype == "image/png" and svg.mimetype == "image/svg+xml"
    (url,) = decode_png(png.data)
    assert decode_svg(svg.get_data(as_text=True)) == [url]
    assert "人社局" in open_scanned(admin, url).get_data(as_text=True)


def test_zip_holds_the_whole_print_set(admin, campaign):
    reply = admin.get(_base(campaign) + "/print-set.zip")
    assert reply.status_code == 200 and reply.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(reply.data))
    names = sorted(archive.namelist())
    assert names == ["png/ZF01-市场监管局.png", "png/ZF02-人社局.png", "png/ZZ01-税务局.png",
                     "posters.pdf", "svg/ZF01-市场监管局.svg", "svg/ZF02-人社局.svg",
                     "svg/ZZ01-税务局.svg", "visit-cards.pdf"]
    (url,) = decode_png(archive.read("png/ZZ01-税务局.png"))
    assert "税务局" in open_scanned(admin, url).get_data(as_text=True)


def test_print_page_is_an_a4_poster_per_unit(admin, campaign):
    reply = admin.get(_base(campaign) + "/print")
    body = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert "@page{size:A4" in body and body.count('<section class="poster">') == 3
    assert body.count("<svg") == 3 and "扫码评议" in body and "12345" in body
    one = admin.get(_base(campaign) + "/print?unit=ZZ01").get_data(as_text=True)
    assert one.count('<section class="poster">') == 1 and "税务局" in one


def test_missing_things_get_chinese_404s(admin, make_campaign, campaign):
    assert "评议活动不存在" in admin.get("/admin/campaigns/999/posters/").get_data(as_text=True)
    reply = admin.get(_base(campaign) + "/units/NOPE.png")
    assert reply.status_code == 404 and "没有这个单位编号" in reply.get_data(as_text=True)
    bare = make_campaign(title="无走访", units={"政府工作部门": [("A1", "甲局")]})
    reply = admin.get(_base(bare) + "/visit-cards.pdf")
    assert reply.status_code == 404 and "还没有走访记录" in reply.get_data(as_text=True)
    empty = make_campaign(title="空", units={"政府工作部门": []})
    reply = admin.get(_base(empty) + "/posters.pdf")
    assert reply.status_code == 404 and "还没有评议对象" in reply.get_data(as_text=True)


def test_too_long_base_url_gets_a_chinese_503_not_a_500(app, admin, campaign):
    app.config["PUBLIC_BASE_URL"] = "https://" + "x" * 80 + ".example.gov.cn"
    reply = admin.get(_base(campaign) + "/posters.pdf")
    assert reply.status_code == 503 and "PUBLIC_BASE_URL" in reply.get_data(as_text=True)
