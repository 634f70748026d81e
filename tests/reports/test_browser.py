"""The dashboard and results pages in headless Chromium on a phone-sized screen."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import pytest

from collector.auth import session_stamp
from sync.models import Role

from .conftest import Rating, unit_by_code
from .test_pages import ATTRIBUTE, SCRIPT


def session_cookie(app, user) -> str:  # type: ignore[no-untyped-def]
    return app.session_interface.get_signing_serializer(app).dumps(
        {"user_id": user.id, "stamp": session_stamp(user)})


@pytest.mark.browser
def test_dashboard_on_a_phone_escapes_and_refreshes(app, client, session, live_url, make_user,
                                                    make_campaign, rate, make_link,
                                                    artifacts_dir, browser):
    campaign = make_campaign(units={"政府工作部门": [("ZF01", f"局{SCRIPT}"),
                                                     ("ZF02", "人社局")]})
    rate(campaign, [Rating("ZF01", "SSSSS", comment=SCRIPT),
                    Rating("ZF02", "BBBBU", comment=ATTRIBUTE)])
    admin = make_user("boss", role=Role.ADMIN)
    dialogs: list[str] = []
    context = browser.new_context(viewport={"width": 375, "height": 740},
                                  device_scale_factor=2, is_mobile=True)
    try:
        context.add_cookies([{"name": app.config.get("SESSION_COOKIE_NAME", "session"),
                              "value": session_cookie(app, admin), "url": live_url}])
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))

        page.goto(f"{live_url}/admin/campaigns/{campaign.id}/dashboard")
        assert page.locator("#total").inner_text() == "2"
        assert page.locator("[onmouseover]").count() == 0
        assert SCRIPT in page.locator("#comments").inner_text()
        assert page.locator("#per-day svg").is_visible()
        # The page fits a phone: nothing wider than the viewport except scrollable tables.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=os.path.join(artifacts_dir, "reports-dashboard-phone.png"),
                        full_page=True)

        # A new rating arrives; coming back to the tab refreshes the numbers and comments.
        _, token = make_link(campaign, ["ZF02"])
        reply = client.post("/api/v1/sync", json={"device_id": "d", "responses": [{
            "id": str(uuid.uuid4()), "token": token, "comment": "<b>新意见</b>",
            "created_at": datetime.now(timezone.utc).isoformat(), "identity": "enterprise",
            "answers": {k: "satisfied" for k in ("efficiency", "attitude", "competence",
                                                 "conduct", "integrity")}}]})
        assert reply.json["results"][0]["status"] == "stored"
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        page.wait_for_function("() => document.getElementById('total').textContent === '3'")
        assert "<b>新意见</b>" in page.locator("#comments").inner_text()
        assert page.locator("#comments b").count() == 0
        assert page.locator("[onmouseover]").count() == 0
        assert "更新于" in page.locator("#updated").inner_text()

        page.goto(f"{live_url}/admin/campaigns/{campaign.id}/results")
        assert page.locator("svg").count() >= 2
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=os.path.join(artifacts_dir, "reports-results-phone.png"),
                        full_page=True)
        unit = unit_by_code(session, campaign, "ZF01")
        page.goto(f"{live_url}/admin/campaigns/{campaign.id}/units/{unit.id}")
        assert page.locator("h1").inner_text().startswith(f"局{SCRIPT}")
    finally:
        context.close()
    assert dialogs == []
    assert all(url.startswith(live_url) for url in requests), requests
