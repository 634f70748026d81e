"""Reviewing a flagged rating and reading the audit log in headless Chromium on a phone."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from sync.audit import AuditEntry
from sync.models import Response, Role

from .conftest import unit_by_code
from .test_browser import session_cookie


@pytest.mark.browser
def test_admin_excludes_from_the_unit_page_and_finds_it_in_the_log(
        app, session, live_url, make_user, hand_built, artifacts_dir, browser):
    admin = make_user("boss", role=Role.ADMIN)
    zf04 = unit_by_code(session, hand_built, "ZF04")
    context = browser.new_context(viewport={"width": 375, "height": 740},
                                  device_scale_factor=2, is_mobile=True)
    try:
        context.add_cookies([{"name": app.config.get("SESSION_COOKIE_NAME", "session"),
                              "value": session_cookie(app, admin), "url": live_url}])
        page = context.new_page()
        page.goto(f"{live_url}/admin/campaigns/{hand_built.id}/results")
        assert "全部最低档 1 份" in page.locator("#signals").inner_text()
        page.locator("#signals a", has_text="交通局").click()
        page.wait_for_url(f"**/units/{zf04.id}#signals")
        signals = page.locator("#signals")
        assert "每一项都选了最低档" in signals.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=os.path.join(artifacts_dir, "review-unit-phone.png"),
                        full_page=True)

        # The browser itself refuses an empty reason (required), then submits a real one.
        signals.get_by_role("button", name="剔除").click()
        assert page.url.endswith("#signals")
        signals.get_by_label("理由").fill("核实无此受访人")
        signals.get_by_role("button", name="剔除").click()
        page.wait_for_selector("text=已剔除该评议结果")
        assert "核实无此受访人" in page.locator("#signals").inner_text()
        session.rollback()  # end the test's read snapshot: the server committed meanwhile
        excluded = session.scalar(select(Response).where(Response.excluded_at.is_not(None)))
        assert excluded.unit_id == zf04.id and excluded.exclusion_reason == "核实无此受访人"

        page.goto(f"{live_url}/admin/audit")
        page.select_option("select[name=action]", "response.exclude")
        page.get_by_role("button", name="筛选").click()
        rows = page.locator("tr.audit-row")
        assert rows.count() == 1
        assert "剔除评议结果" in rows.first.inner_text() and "boss" in rows.first.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=os.path.join(artifacts_dir, "audit-log-phone.png"), full_page=True)
        session.rollback()
        assert session.scalars(select(AuditEntry.action)).all() == ["response.exclude"]
    finally:
        context.close()
