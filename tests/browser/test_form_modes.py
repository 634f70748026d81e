"""The phone form's modes in Chromium: no JavaScript, poster, visit export, reasons, fallbacks."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sync.merge import REPEAT_DEVICE
from sync.models import CampaignStatus, Channel
from sync.queue_file import import_queue_file

from .formpage import (
    fill,
    rate_visit,
    record_status,
    said,
    submit,
    tap,
    wait_pending,
    wait_ready,
)
from .test_form_offline import stored

pytestmark = pytest.mark.browser


def test_form_post_works_with_javascript_off(live_server, new_context, make_campaign, make_link,
                                             session):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF02"])
    page = new_context(java_script_enabled=False).new_page()
    page.goto(f"{live_server.url}/s/{token}")
    response_id = page.get_attribute('input[name="response_id"]', "value")
    fill(page, level="unsatisfied", comment="办事要跑三趟")
    submit(page)
    assert page.locator("h1").inner_text() == "感谢您的评议"
    assert "已提交成功" in page.content()

    rows = stored(session)  # stored under the page's own id (a double submit is a duplicate)
    assert [r.uuid for r in rows] == [response_id]
    assert rows[0].comment == "办事要跑三趟" and rows[0].device_id

    page.goto(f"{live_server.url}/s/{token}")  # the device cookie tells the server who rated
    assert page.locator("#done").is_visible() and page.locator("#f").is_hidden()


def test_screenshot_and_nothing_fetched_before_usable(live_server, new_context, make_campaign,
                                                      make_link, artifacts_dir):
    campaign = make_campaign(supervision_phone="0791-83869993")
    _, token = make_link(campaign, ["ZF01"])
    page = new_context().new_page()
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    assert seen == [f"{live_server.url}/s/{token}"]  # one round trip: no CSS, JS, fonts, API
    box = page.locator("label:has(input[value=satisfied])").first.bounding_box()
    assert box is not None and box["height"] >= 44  # a thumb-sized target
    tap(page, "a.efficiency", "satisfied")
    tap(page, "a.attitude", "basic")
    path = os.path.join(artifacts_dir, "form-375x667.png")
    page.screenshot(path=path)
    header = Path(path).read_bytes()[:24]  # PNG: signature, IHDR length and type, width, height
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    size = (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big"))
    assert size == (375, 667)


def test_poster_second_attempt_is_told_already_rated(live_server, new_context, make_campaign,
                                                     make_link, session):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    page = new_context().new_page()
    url = f"{live_server.url}/s/{token}"
    page.goto(url)
    wait_ready(page)
    fill(page)
    submit(page)
    page.wait_for_function("() => document.getElementById('st').textContent.includes('已上传')")

    page.reload()
    wait_ready(page)
    assert page.locator("#done").is_visible() and page.locator("#f").is_hidden()
    assert "您已评议过该单位" in page.locator("#done").inner_text()

    # WeChat cleared the page's storage, the cookie survived: the server still knows this phone.
    page.evaluate("""() => new Promise(done => { localStorage.clear();
        const r = indexedDB.deleteDatabase('pingyi');
        r.onsuccess = r.onerror = r.onblocked = done; })""")
    page.goto(url)
    wait_ready(page)
    assert page.locator("#done").is_visible()
    assert len(stored(session)) == 1


def test_poster_repeat_reaching_the_server_is_kept_and_flagged(live_server, new_context,
                                                               make_campaign, make_link, session):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    context = new_context(java_script_enabled=False)
    first, second = context.new_page(), context.new_page()
    for page in (first, second):  # two tabs opened before either was submitted
        page.goto(f"{live_server.url}/s/{token}")
    for page in (first, second):
        fill(page)
        submit(page)
    assert "您已评议过该单位" in second.locator("main").inner_text()
    rows = stored(session)
    assert len(rows) == 2 and rows[0].device_id == rows[1].device_id
    assert rows[0].flags == [] and rows[1].flags == [REPEAT_DEVICE]


def test_low_level_asks_for_a_reason(live_server, new_context, make_campaign, make_link, session):
    campaign = make_campaign(template="haochaping")
    _, token = make_link(campaign, ["ZF01"])
    page = new_context().new_page()
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    assert "不满意" in page.locator("#why").inner_text()
    fill(page, level="very_unsatisfied", identity="citizen",
         items=["overall", "efficiency", "attitude"])
    assert page.locator("#why.err").is_visible()
    submit(page)
    assert "请在" in page.locator("#st").inner_text()
    assert page.locator("#q-comment.x").count() == 1
    assert page.evaluate("document.documentElement.dataset.pending") == "0"

    page.fill('textarea[name="comment"]', "材料被退回三次，没有一次说清楚")
    submit(page)
    page.wait_for_function("() => document.getElementById('st').textContent.includes('已上传')")
    rows = stored(session)
    assert len(rows) == 1 and rows[0].comment == "材料被退回三次，没有一次说清楚"


def test_rejected_items_stay_visible_and_export_imports(app, live_server, new_context,
                                                        make_campaign, make_link, session,
                                                        artifacts_dir):
    campaign = make_campaign()
    link, token = make_link(campaign, ["ZF01", "ZF02"], channel=Channel.VISIT,
                            visit_place="红星村")
    context = new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    context.set_offline(True)
    for n in range(3):
        rate_visit(page, n, unit="ZF02")

    with page.expect_download() as download:
        page.click("#ex")
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert exported["format"] == "pingyi-queue" and len(exported["responses"]) == 3
    assert download.value.suggested_filename.endswith("3份.json")

    # The admin imports the file first; the phone's later upload then meets duplicates only.
    summary = import_queue_file(session, app.extensions["link_signer"], json.dumps(exported))
    assert summary.counts == {"stored": 3}
    rate_visit(page, 3, unit="ZF01")

    # The office closed the campaign, and the phone sees signal again only after the 30-day grace
    # for late uploads (made before closing, their receipts would otherwise let them in).
    campaign.status = CampaignStatus.CLOSED
    session.commit()
    campaign.closed_at = datetime.now(timezone.utc) - timedelta(days=31)
    session.commit()
    context.set_offline(False)
    wait_pending(page, 0)
    page.wait_for_selector("#pb", state="visible")
    problems = page.locator("#bad li").all_inner_texts()
    assert len(problems) == 4 and all("评议已结束" in p for p in problems)
    page.wait_for_function("() => document.getElementById('m').textContent === '0'")
    page.screenshot(path=os.path.join(artifacts_dir, "form-visit-rejected.png"), full_page=True)

    # Nothing was discarded: the rejected ratings are still exportable.
    with page.expect_download() as again:
        page.click("#ex")
    kept = json.loads(Path(again.value.path()).read_text(encoding="utf-8"))
    assert len(kept["responses"]) == 4
    assert {r["id"] for r in exported["responses"]} < {r["id"] for r in kept["responses"]}
    assert len(stored(session)) == 3


def test_never_says_saved_when_the_phone_could_not_save(live_server, new_context, make_campaign,
                                                        make_link, session):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    context = new_context()
    context.add_init_script("""Object.defineProperty(window, 'indexedDB', {value: undefined});
        Storage.prototype.setItem = function () {
          throw new DOMException('full', 'QuotaExceededError'); };""")
    record_status(context)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    context.set_offline(True)
    fill(page)
    submit(page)
    page.wait_for_function("() => document.getElementById('st').textContent.startsWith('本机无法保存，请勿关闭本页；')")
    assert page.get_attribute("#st", "class") == "msg err"  # a person must act: red
    page.wait_for_function("() => document.documentElement.dataset.pending === '1'")  # held in memory

    context.set_offline(False)
    page.wait_for_function("() => document.getElementById('st').textContent.includes('已上传')")
    messages = said(page)
    assert messages[0] == "本机无法保存，正在直接上传，请勿关闭本页…"
    assert not any("已保存" in m for m in messages)
    assert any("本机无法保存，请勿关闭本页" in m for m in messages)
    assert len(stored(session)) == 1


def test_ios_wechat_is_told_to_use_the_system_browser(live_server, new_context, make_campaign,
                                                      make_link):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"], channel=Channel.VISIT, visit_place="红星村")
    wechat_ios = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                  "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) "
                  "NetType/WIFI Language/zh_CN")
    for agent, shown in ((wechat_ios, True), (None, False)):
        page = new_context(**({"user_agent": agent} if agent else {})).new_page()
        page.goto(f"{live_server.url}/s/{token}")
        wait_ready(page)
        assert page.locator("#ios").is_visible() is shown


def test_ids_are_made_on_old_webviews_too(live_server, new_context, make_campaign, make_link,
                                          session):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    context = new_context()
    context.add_init_script(
        "Object.defineProperty(Crypto.prototype, 'randomUUID', {value: undefined})")
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    assert page.evaluate("typeof crypto.randomUUID") == "undefined"
    fill(page)
    submit(page)
    page.wait_for_function("() => document.getElementById('st').textContent.includes('已上传')")
    (row,) = stored(session)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        row.uuid)
