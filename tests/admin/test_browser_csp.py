"""Cadre pages under the Content-Security-Policy in Chromium: the revoke button still asks first."""

from __future__ import annotations

import pytest

from sync.models import Link

from .conftest import PASSWORD


@pytest.mark.browser
def test_revoke_asks_for_confirmation_without_inline_handlers(browser, live_url, make_user,
                                                              make_campaign, make_link, session):
    make_user("admin")
    campaign = make_campaign()
    link, _ = make_link(campaign)
    context = browser.new_context(locale="zh-CN")
    violations: list[str] = []
    context.on("console", lambda m: violations.append(m.text)
               if "Content Security Policy" in m.text else None)
    answers = iter([False, True])  # first say no, then yes
    asked: list[str] = []

    def answer(dialog):  # type: ignore[no-untyped-def]
        asked.append(dialog.message)
        dialog.accept() if next(answers) else dialog.dismiss()

    try:
        page = context.new_page()
        page.on("dialog", answer)
        page.goto(f"{live_url}/admin/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/campaigns")
        page.goto(f"{live_url}/admin/campaigns/{campaign.id}/links")
        page.click("button:has-text('撤销')")
        assert len(asked) == 1 and "撤销后" in asked[0]
        session.rollback()  # see what the server committed
        assert session.get(Link, link.id).revoked_at is None  # dismissed: nothing sent
        with page.expect_navigation():
            page.click("button:has-text('撤销')")
        assert len(asked) == 2
    finally:
        context.close()
    session.rollback()  # see what the server committed
    assert session.get(Link, link.id).revoked_at is not None
    assert violations == []
