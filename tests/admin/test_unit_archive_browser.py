"""Real Chromium at phone size: the units page's 删除 asks first (data-confirm), passes axe."""

from __future__ import annotations

import pytest
from browser.axe import assert_accessible
from sqlalchemy import select

from sync.models import Unit

from .conftest import PASSWORD

PHONE = {"width": 375, "height": 667}


@pytest.mark.browser
def test_delete_asks_first_and_the_page_passes_axe(browser, live_url, make_campaign, make_user,
                                                   session):
    campaign = make_campaign()
    make_user("admin")
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{live_url}/admin/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{live_url}/admin/campaigns/{campaign.id}/units")
        assert_accessible(page, "units page")
        row = page.locator("tr", has_text="ZF02")
        asked: list[str] = []

        def answer(accept: bool):  # type: ignore[no-untyped-def]
            def handle(dialog):  # type: ignore[no-untyped-def]
                asked.append(dialog.message)
                dialog.accept() if accept else dialog.dismiss()
            return handle

        page.once("dialog", answer(False))
        row.locator("button", has_text="删除").click()
        page.wait_for_timeout(200)  # a dismissed confirm submits nothing
        assert "确定删除“人社局”" in asked[0]
        session.rollback()
        assert session.scalar(select(Unit).filter_by(code="ZF02")) is not None

        page.once("dialog", answer(True))
        with page.expect_navigation():
            row.locator("button", has_text="删除").click()
        assert "已删除评议对象“人社局”" in page.inner_text("body")
        assert_accessible(page, "units page after a delete")
        session.rollback()
        assert session.scalar(select(Unit).filter_by(code="ZF02")) is None
    finally:
        context.close()
