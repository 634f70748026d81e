"""Posters and visit cards: the right links are printed, every QR inside the PDFs decodes to a
URL that opens that unit's form, the Chinese text is real text in an embedded font."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from qr_helpers import BASE_URL, decode_image, open_scanned, pdf_fonts, pdf_pages, pdf_text

from qr.cards import cards_pdf
from qr.fonts import FONT_ENV, FontMissing, find_cjk_font
from qr.posters import posters_pdf
from sync.campaigns import create_visit
from sync.links import issue_link, revoke_link
from sync.models import Channel, Link
from sync.posters import poster_links, poster_specs, visit_card_specs

TITLE = "2026年度基层群众评议机关作风"
PHONE = "0791-83869993"
DPI = 100


@pytest.fixture
def campaign(make_campaign):  # type: ignore[no-untyped-def]
    return make_campaign(title=TITLE, supervision_phone=PHONE)


def _unit(campaign, code):  # type: ignore[no-untyped-def]
    return next(u for u in campaign.units if u.code == code)


def test_each_unit_gets_its_newest_usable_poster_link(session, campaign):
    zf01, zf02 = _unit(campaign, "ZF01"), _unit(campaign, "ZF02")
    old = issue_link(session, campaign, [zf01])
    newest = issue_link(session, campaign, [zf01])
    revoked = issue_link(session, campaign, [zf01])
    revoke_link(session, revoked)
    issue_link(session, campaign, [zf01], max_age=3600)  # would expire on the wall
    shared = issue_link(session, campaign, [zf01, zf02])  # names two units: not a unit poster
    visit = issue_link(session, campaign, [zf02], Channel.VISIT,
                       create_visit(session, campaign, "红星村"))
    session.commit()

    pairs = poster_links(session, campaign)
    chosen = {unit.code: link for unit, link in pairs}
    assert [u.code for u, _ in pairs] == ["ZF01", "ZF02", "ZZ01"]
    assert chosen["ZF01"].id == newest.id and newest.id > old.id
    # ZF02 and ZZ01 had no poster link of their own: one was issued for each.
    for code in ("ZF02", "ZZ01"):
        link = chosen[code]
        assert link.id not in (shared.id, visit.id, revoked.id)
        assert link.purpose == "poster" and [u.code for u in link.units] == [code]
        assert link.short_code and link.max_age is None
    session.commit()
    # Asking again issues nothing more and prints the same codes.
    count = session.query(Link).count()
    assert {u.code: link.id for u, link in poster_links(session, campaign)} == \
        {code: link.id for code, link in chosen.items()}
    assert session.query(Link).count() == count


def test_poster_pdf_scans_to_each_units_form(client, session, campaign, tmp_path, artifacts_dir):
    posters = poster_specs(session, campaign, BASE_URL)
    session.commit()
    pdf = posters_pdf(posters)

    pages = pdf_pages(pdf, tmp_path, DPI)
    assert len(pages) == len(posters) == 3
    pages[0].save(f"{artifacts_dir}/poster-page-1.png")
    for page, poster in zip(pages, posters, strict=False):
        assert decode_image(page) == [poster.url]
        form = open_scanned(client, poster.url)
        assert form.status_code == 200
        assert poster.unit_name in form.get_data(as_text=True)

    text = pdf_text(pdf)
    for needed in (TITLE, "市场监管局", "人社局", "税务局", "扫码评议", PHONE, "政府工作部门",
                   posters[0].url):
        assert needed in text
    today = date.today()
    opens, closes = today - timedelta(days=30), today + timedelta(days=30)
    assert f"{opens.year}年{opens.month}月{opens.day}日 至 {closes.year}年{closes.month}月" in text


def test_poster_qr_is_at_least_ten_centimetres_wide(session, campaign, tmp_path):
    from pyzbar.pyzbar import decode

    # A long name wraps to two lines and takes space from the code: it must still be ≥ 10 cm.
    poster = poster_specs(session, campaign, "https://zwfw.jiangxi-province-example.gov.cn")[0]
    long_named = type(poster)(**{**poster.__dict__,
                                 "unit_name": "国家税务总局某某市某某区税务局第一税务分局办税服务厅"})
    for page in pdf_pages(posters_pdf([poster, long_named]), tmp_path, DPI):
        (found,) = decode(page.convert("L"))
        width_mm = found.rect.width / DPI * 25.4
        assert width_mm >= 100, width_mm


def test_pdf_embeds_its_cjk_font(session, campaign):
    fonts = pdf_fonts(posters_pdf(poster_specs(session, campaign, BASE_URL)))
    rows = fonts.splitlines()[2:]
    assert rows, fonts
    for row in rows:  # name type encoding emb sub uni ...: every font embedded, with ToUnicode
        assert "WenQuanYi" in row and row.split()[-5:-2] == ["yes", "yes", "yes"], row


def test_visit_cards_four_to_a_page_scan_to_the_visit_form(client, session, campaign, tmp_path):
    units = campaign.units
    expected = {}
    for n in range(5):
        visit = create_visit(session, campaign, f"第{n + 1}村", "李明", date(2026, 11, n + 1))
        link = issue_link(session, campaign, units, Channel.VISIT, visit)
        expected[f"{BASE_URL}/q/{link.short_code}"] = visit.place
    gone = issue_link(session, campaign, units, Channel.VISIT,
                      create_visit(session, campaign, "已撤销村"))
    revoke_link(session, gone)
    session.commit()

    cards = visit_card_specs(session, campaign, BASE_URL)
    assert [c.place for c in cards] == [f"第{n}村" for n in range(1, 6)]  # by visit date
    pdf = cards_pdf(cards)
    pages = pdf_pages(pdf, tmp_path, 150)
    assert len(pages) == 2
    decoded = [decode_image(page) for page in pages]
    assert [len(urls) for urls in decoded] == [4, 1]
    assert sorted(url for urls in decoded for url in urls) == sorted(expected)
    for url in expected:
        form = open_scanned(client, url)
        assert form.status_code == 200
        body = form.get_data(as_text=True)
        assert all(u.name in body for u in units)

    text = pdf_text(pdf)
    for needed in (TITLE, "第1村", "第5村", "李明", "2026年11月3日", "入户访谈", "市场监管局"):
        assert needed in text
    assert "已撤销村" not in text


def test_empty_print_jobs_are_refused():
    with pytest.raises(ValueError):
        posters_pdf([])
    with pytest.raises(ValueError):
        cards_pdf([])


def test_missing_font_says_how_to_install_one(monkeypatch, tmp_path):
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "nope.ttf"))
    with pytest.raises(FontMissing, match=FONT_ENV):
        find_cjk_font()
    monkeypatch.delenv(FONT_ENV)
    monkeypatch.setattr("qr.fonts.KNOWN_PATHS", ())
    monkeypatch.setattr("qr.fonts._fc_match", lambda: None)
    with pytest.raises(FontMissing, match="fonts-wqy-zenhei"):
        find_cjk_font()
