"""Real Chromium: keyboard-only paper entry, the board on a phone and in an iframe, the home."""

from __future__ import annotations

import os

import pytest
from browser.axe import axe_script
from sqlalchemy import select

from collector.admin.followups.board import board_token
from sync.models import Response, Role

from .conftest import PASSWORD

PHONE = {"width": 375, "height": 667}
#: axe-core, installed from npm on first use (tests/browser/axe.py)
AXE = axe_script()
PLANTED = "只在意见里出现的字符串ZQ9"


def phone_context(browser):  # type: ignore[no-untyped-def]
    """A 375 px phone with axe-core loaded as an init script (DevTools-injected, so the pages'
    Content-Security-Policy stays in force for their own code)."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    context.add_init_script(path=str(AXE))
    return context


def serious_violations(page):  # type: ignore[no-untyped-def]
    """Serious or critical axe-core findings, colour contrast included."""
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in result["violations"]
            if v.get("impact") in ("serious", "critical")]


def fits_the_phone(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def sign_in(page, live_url, username):  # type: ignore[no-untyped-def]
    page.goto(f"{live_url}/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.browser
def test_paper_entry_with_the_keyboard_only(browser, live_url, make_campaign, make_user,
                                            session, artifacts_dir):
    campaign = make_campaign()
    make_user("clerk")
    context = phone_context(browser)
    try:
        page = context.new_page()
        sign_in(page, live_url, "clerk")
        page.goto(f"{live_url}/admin/campaigns/{campaign.id}/paper")
        assert page.evaluate("document.activeElement.id") == "unit"  # no unit yet: start there
        page.keyboard.type("ZF01")
        page.keyboard.press("Shift+Tab")
        page.keyboard.type("P-1")
        for key in ("Tab", "Tab"):
            page.keyboard.press(key)
        page.keyboard.type("12311")
        assert page.inner_text("#digits-echo") == "满意 · 基本满意 · 不满意 · 满意 · 满意"
        page.keyboard.press("Tab")
        page.keyboard.type("1")
        page.keyboard.press("Tab")
        page.keyboard.type(PLANTED)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "问卷 P-1：已保存" in page.inner_text("body")
        # the next blank form: focus on the sheet number, the unit kept
        assert page.evaluate("document.activeElement.id") == "sheet_no"
        assert page.input_value("#unit") == "ZF01" and page.input_value("#digits") == ""

        for sheet, digits in (("P-2", "11111"), ("P-1", "33333")):
            page.keyboard.type(sheet)
            page.keyboard.press("Tab")  # into the kept unit: its text is selected
            page.keyboard.press("Tab")
            page.keyboard.type(digits)
            with page.expect_navigation():
                page.keyboard.press("Enter")
        assert "问卷 P-1：此编号的问卷已录入过且内容不同" in page.inner_text("body")
        assert fits_the_phone(page)
        page.screenshot(path=os.path.join(artifacts_dir, "paper-entry.png"), full_page=True)
        assert serious_violations(page) == []
    finally:
        context.close()
    session.rollback()  # end this test session's read snapshot
    stored = session.scalars(select(Response).order_by(Response.id)).all()
    assert [r.meta["sheet_no"] for r in stored] == ["P-1", "P-2"]
    assert stored[0].comment == PLANTED and stored[0].identity_key == "enterprise"


@pytest.mark.browser
def test_board_on_a_phone_and_inside_an_iframe(browser, live_url, app, make_campaign, make_link,
                                              make_item, client, session, artifacts_dir):
    campaign = make_campaign()
    _, token = make_link(campaign, codes=["ZF01"])
    for n, comment in enumerate([PLANTED, ""]):
        client.post("/api/v1/sync", json={"device_id": f"d{n}", "responses": [
            make_item(token, comment=comment, contact="13911112222")]})
    campaign.board_enabled = True
    session.commit()
    with app.test_request_context():
        url = f"{live_url}/b/{board_token(campaign)}"
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(url)
        text = page.inner_text("body")
        assert "市场监管局" in text and "100.00" in text
        assert PLANTED not in page.content() and "13911112222" not in page.content()
        assert fits_the_phone(page)
        page.screenshot(path=os.path.join(artifacts_dir, "board-phone.png"), full_page=True)
        assert serious_violations(page) == []
    finally:
        context.close()
    # a unit's website embeds it (a context that honours CSP, so frame-ancestors is in force)
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{live_url}/healthz")
        page.set_content(f'<iframe src="{url}" title="评议结果公示" '
                         'style="width:360px;height:600px"></iframe>')
        frame = page.frame_locator("iframe")
        assert "市场监管局" in frame.locator("body").inner_text(timeout=5000)
    finally:
        context.close()


@pytest.mark.browser
def test_secretary_home_reads_well_on_a_phone(browser, live_url, make_campaign, make_link,
                                              make_item, make_user, client, artifacts_dir):
    campaign = make_campaign()
    _, token = make_link(campaign, codes=["ZF01"])
    client.post("/api/v1/sync", json={"responses": [make_item(token, comment="慢")]})
    make_user("zf01", Role.SECRETARY, units=list(campaign.units))
    context = phone_context(browser)
    try:
        page = context.new_page()
        sign_in(page, live_url, "zf01")
        page.goto(f"{live_url}/admin/")
        assert "今日计入" in page.inner_text("body")
        assert fits_the_phone(page)
        page.screenshot(path=os.path.join(artifacts_dir, "secretary-home.png"), full_page=True)
        assert serious_violations(page) == []
    finally:
        context.close()
