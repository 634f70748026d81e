"""The links page (issue 12, item 6) at 375×667: the short URL first, copy, QR preview, counts,
and units picked with checkboxes and a search box."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image
from pyzbar.pyzbar import decode as read_qr

from sync.models import Channel, Link


@pytest.mark.browser
def test_short_url_copy_qr_and_counts(phone, live_url, make_campaign, make_link, make_user,
                                      rate, session, app):
    campaign = make_campaign()
    rate(campaign, "ZF01", "SSSSS", n=2)
    poster = session.query(Link).filter_by(campaign_id=campaign.id).one()
    page = phone(make_user("boss"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    page.goto(f"{live_url}/admin/campaigns/{campaign.id}/links")
    row = page.locator(f'tr[data-link="{poster.id}"]')
    short = f"http://testserver/q/{poster.short_code}"
    assert row.locator("a.short").inner_text() == short  # the printed URL, first
    assert row.locator("td.num").inner_text() == "2"  # ratings through this link
    assert row.locator("a.url").is_hidden()  # the long signed URL only on request

    row.locator("button.copy").click()
    assert page.evaluate("() => navigator.clipboard.readText()") == short
    assert row.locator("button.copy").inner_text() == "已复制"

    row.locator("button.qr").click()
    image = row.locator(".qrbox img")
    image.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('.qrbox img').naturalWidth > 0")
    png = image.screenshot()
    assert [s.data.decode() for s in read_qr(Image.open(BytesIO(png)))] == [short]


@pytest.mark.browser
def test_units_are_picked_with_checkboxes_and_search(phone, live_url, make_campaign, make_user,
                                                     session):
    campaign = make_campaign(units={"政府工作部门": [(f"ZF{i:02d}", f"单位{i:02d}")
                                                     for i in range(1, 21)]
                                    + [("ZF99", "市场监管局")]})
    page = phone(make_user("boss"))
    page.goto(f"{live_url}/admin/campaigns/{campaign.id}/links")
    page.fill(".pick-search", "市场")
    visible = page.locator(".pick-list label:visible")
    assert visible.count() == 1 and "ZF99" in visible.inner_text()
    visible.locator("input").check()
    page.fill(".pick-search", "ZF0")
    page.locator(".pick-list label:visible input").nth(0).check()  # ZF01
    page.select_option("select[name=channel]", Channel.VISIT.value)
    page.click(f"form[action='/admin/campaigns/{campaign.id}/links'] button[type=submit]")
    assert "已生成链接" in page.inner_text("body")
    session.commit()
    link = session.query(Link).filter_by(campaign_id=campaign.id, channel=Channel.VISIT).one()
    assert sorted(u.code for u in link.units) == ["ZF01", "ZF99"]
