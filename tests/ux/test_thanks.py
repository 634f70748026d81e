"""The thank-you on a multi-unit poster says thanks once and offers 评议其他单位 (item 10)."""

from __future__ import annotations

import pytest
from browser.formpage import fill, submit, wait_ready


@pytest.mark.browser
def test_multi_unit_poster_thanks_once_and_offers_the_others(phone, live_url, make_campaign,
                                                             make_link):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01", "ZF02"])
    page = phone()
    page.goto(f"{live_url}/s/{token}")
    wait_ready(page)
    fill(page, unit="ZF01")
    submit(page)
    page.wait_for_function("() => document.getElementById('st').textContent === '已上传。'")
    assert page.inner_text("body").count("感谢您的评议") == 1
    page.click("#oth")
    assert page.locator("#f").is_visible()
    assert page.locator('option[value="ZF01"]').is_disabled()
    fill(page, unit="ZF02")
    submit(page)
    page.wait_for_selector("#thx", state="visible")
    assert page.locator("#oth").is_hidden()  # nothing left to rate here
