"""The programme, pool and push pages on a phone: fit the screen, no serious axe-core violation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collector.auth import session_stamp
from sync.models import Role

#: axe-core from npm (see scripts/system-deps.sh's cache); the test fails loudly without it
AXE = Path(os.environ.get("PINGYI_AXE_JS",
                          "/root/.cache/pingyi-axe/node_modules/axe-core/axe.min.js"))


def session_cookie(app, user) -> str:  # type: ignore[no-untyped-def]
    return app.session_interface.get_signing_serializer(app).dumps(
        {"user_id": user.id, "stamp": session_stamp(user)})


@pytest.mark.browser
def test_pages_on_a_phone_pass_axe(app, live_url, browser, seed004, make_user, artifacts_dir):  # type: ignore[no-untyped-def]
    assert AXE.is_file(), f"axe-core not found at {AXE} (set PINGYI_AXE_JS)"
    admin = make_user("boss", role=Role.ADMIN)
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True)
    try:
        context.add_cookies([{"name": app.config.get("SESSION_COOKIE_NAME", "session"),
                              "value": session_cookie(app, admin), "url": live_url}])
        violations: list[str] = []
        context.on("console", lambda m: violations.append(m.text)
                   if "Content Security Policy" in m.text else None)
        page = context.new_page()
        for path in ("programme", "pool", "push", "report.html"):
            page.goto(f"{live_url}/admin/campaigns/{seed004.id}/{path}")
            # Through DevTools, not a <script> tag, which the page's CSP rightly blocks.
            page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                       for v in result["violations"] if v["impact"] in ("serious", "critical")]
            assert not serious, (path, serious)
            # Wide tables scroll inside their card; the page itself fits the phone.
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
            assert not violations, (path, violations)
            page.screenshot(path=os.path.join(artifacts_dir, f"programmes-{path}-phone.png"),
                            full_page=True)
    finally:
        context.close()
