"""A cadre sets up a campaign in a real browser: login, create, import units, issue links."""

from __future__ import annotations

import os

import pytest

from sync.models import Campaign, Link

from .conftest import PASSWORD


@pytest.mark.browser
def test_setup_flow_in_chromium(browser, live_url, make_user, session, tmp_path, artifacts_dir):
    make_user("admin")
    sheet = tmp_path / "名单.csv"
    sheet.write_text("类别,单位代码,单位名称\n政府工作部门,ZF01,市场监管局\n中直单位,ZZ01,税务局\n",
                     encoding="utf-8-sig")
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{live_url}/admin/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/campaigns")

        page.click("text=新建评议活动")
        page.fill("input[name=title]", "2026年度评议")
        page.fill("input[name=year]", "2026")
        page.fill("input[name=supervision_phone]", "0791-83869993")
        page.click("button:has-text('创建')")
        page.wait_for_url("**/units")
        page.set_input_files("input[name=sheet]", str(sheet))
        page.click("button:has-text('导入')")
        assert "已导入 2 个评议对象" in page.inner_text("body")

        page.click("nav.tabs >> text=链接")
        page.click("button:has-text('为每个评议对象生成海报链接')")
        assert "已为 2 个评议对象生成海报链接" in page.inner_text("body")
        page.screenshot(path=os.path.join(artifacts_dir, "admin-links.png"), full_page=True)
        first_url = page.locator("a.url").first.get_attribute("href")

        page.click("nav.tabs >> text=问卷")
        page.fill("input[name=item-0-label]", "办事效率")
        page.click("button:has-text('保存问卷')")
        assert "问卷已保存。" in page.inner_text("body")  # a new campaign is a draft: in place
        page.screenshot(path=os.path.join(artifacts_dir, "admin-questionnaire.png"),
                        full_page=True)
    finally:
        context.close()

    session.expire_all()
    campaign = session.query(Campaign).one()
    assert [u.code for u in campaign.units] == ["ZF01", "ZZ01"]
    assert session.query(Link).count() == 2
    assert first_url and first_url.startswith("http://testserver/s/")
    assert campaign.questionnaire.items[0].label == "办事效率"
    assert campaign.questionnaire.version == 1
