"""An Excel export on a phone: click, watch the progress page, download the file built by the
background runner — under the pages' real Content-Security-Policy."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from collector.extensions import db
from sync.exports.jobs import ExportRunner
from sync.exports.models import ExportJob

from .conftest import Rating, unit_by_code
from .test_browser import session_cookie

PHONE = {"width": 375, "height": 667}
#: axe-core as cached by the team's npm install (see tests/browser/axe.py once h6 lands)
AXE = Path(os.environ.get("AXE_CACHE", Path.home() / ".cache" / "pingyi-axe"),
           "node_modules", "axe-core", "axe.min.js")


def serious_violations(page):  # type: ignore[no-untyped-def]
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in result["violations"]
            if v.get("impact") in ("serious", "critical")]


@pytest.mark.browser
def test_secretary_exports_excel_on_a_phone(app, session, live_url, browser, make_campaign,
                                            rate, make_user, artifacts_dir):
    campaign = make_campaign()
    rate(campaign, [Rating("ZF01", "SSSSS", comment="=HYPERLINK(\"x\")"),
                    Rating("ZF01", "BBBBB"), Rating("ZF02", "UUUUU", comment="别的单位")])
    secretary = make_user("shichang", units=[unit_by_code(session, campaign, "ZF01")])
    runner = ExportRunner(db.engine, poll=0.5)
    app.extensions["export_runner"] = runner  # the route wakes it
    runner.start()
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN",
                                  accept_downloads=True)
    context.add_init_script(path=str(AXE))  # DevTools-injected: the page's CSP stays in force
    violations: list[str] = []
    context.on("console", lambda m: violations.append(m.text)
               if "Content Security Policy" in m.text else None)
    try:
        context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"],
                              "value": session_cookie(app, secretary), "url": live_url}])
        page = context.new_page()
        page.goto(f"{live_url}/admin/campaigns/{campaign.id}/results")
        with page.expect_navigation():
            page.click("button:has-text('下载 Excel 工作簿')")
        assert "/admin/exports/" in page.url
        assert page.locator("h1").inner_text() == "导出 Excel：评议结果、分项统计、排名"
        page.wait_for_selector("#download:not([hidden])", timeout=20_000)
        assert page.locator("#state").inner_text() == "文件已生成。"
        assert page.eval_on_selector("#progress", "p => p.value") == 100
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        assert serious_violations(page) == []
        page.screenshot(path=os.path.join(artifacts_dir, "export-job-phone.png"), full_page=True)
        with page.expect_download() as info:
            page.click("#download")
        download = info.value
        assert download.suggested_filename == f"campaign-{campaign.id}-all.xlsx"
        book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
        assert book.sheetnames == ["评议结果", "分项统计", "排名"]
        assert {r[2] for r in book["排名"].iter_rows(min_row=2, values_only=True)} == {"ZF01"}
        header, *rows = book["评议结果"].iter_rows(values_only=True)
        assert {r[header.index("单位代码")] for r in rows} == {"ZF01"} and len(rows) == 2
        # a text cell, shown as typed: never run as a formula
        assert "=HYPERLINK(\"x\")" in {r[header.index("意见建议")] for r in rows}
    finally:
        context.close()
        runner.stop()
    assert violations == []
    session.rollback()
    job = session.query(ExportJob).one()
    assert job.status == "done" and job.worker == runner.worker
    assert job.requested_by_id == secretary.id
