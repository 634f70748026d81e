"""axe-core (npm, injected by Playwright) finds no serious or critical violation on the pages
a rater, a field worker, a cadre and a secretary use, at 375×667."""

from __future__ import annotations

import pytest
from browser.axe import assert_accessible
from browser.formpage import fill, wait_ready

from sync.models import Channel


@pytest.mark.browser
def test_phone_form_poster_and_visit(phone, live_url, make_campaign, make_link):
    campaign = make_campaign()
    _, poster = make_link(campaign, ["ZF01"])
    _, visit = make_link(campaign, ["ZF01", "ZF02", "ZZ01"], Channel.VISIT, "青山村")
    page = phone()
    page.goto(f"{live_url}/s/{poster}")
    wait_ready(page)
    assert page.locator('meta[name="description"]').get_attribute("content")
    assert_accessible(page, "poster form")
    fill(page, level="unsatisfied")
    assert_accessible(page, "poster form, answered")
    page.goto(f"{live_url}/s/{visit}")
    wait_ready(page)
    assert_accessible(page, "visit form")


@pytest.mark.browser
def test_admin_pages(phone, live_url, make_campaign, make_user, rate):
    campaign = make_campaign()
    rate(campaign, "ZF01", "SSSSS", comment="窗口排队太久")
    rate(campaign, "ZF02", "BBBBU", comment="电话打不通")
    rate(campaign, "ZZ01", "SSBBB")
    page = phone()
    page.goto(f"{live_url}/admin/login")
    assert_accessible(page, "login")
    page = phone(make_user("boss"))
    base = f"{live_url}/admin/campaigns/{campaign.id}"
    for where, url in [("results", f"{base}/results"), ("dashboard", f"{base}/dashboard"),
                       ("follow-ups", f"{live_url}/admin/followups"),
                       ("links", f"{base}/links"), ("editor", f"{base}/questionnaire")]:
        page.goto(url)
        assert page.locator("h1").count() >= 1, where
        assert_accessible(page, where)
