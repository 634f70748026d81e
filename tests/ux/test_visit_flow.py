"""A field worker on a home visit, offline (issue 12, items 2 and 3), at 375×667.

One villager rates four units in a row keeping their identity; the phone lists its saved ratings;
a waiting rating is corrected and another voided, and every version reaches the server.
"""

from __future__ import annotations

import gzip

import pytest
from browser.formpage import fill, submit, tap, wait_pending, wait_ready
from sqlalchemy import select

from sync.models import Channel, Response
from sync.reports import campaign_tally

FOUR = {"村镇单位": [("U1", "派出所"), ("U2", "卫生院"), ("U3", "供电所"), ("U4", "国土所")]}


def saved(page, n: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(f"() => document.getElementById('n').textContent === '{n}'")


@pytest.mark.browser
def test_next_unit_flow_keeps_identity_and_stores_four_ratings_once(
        phone, live_url, make_campaign, make_link, session, client, artifacts_dir):
    campaign = make_campaign(units=FOUR)
    _, token = make_link(campaign, ["U1", "U2", "U3", "U4"], Channel.VISIT, "青山村")
    page = phone()
    page.goto(f"{live_url}/s/{token}")
    wait_ready(page)
    page.context.set_offline(True)

    fill(page, unit="U1", identity="rural")
    submit(page)
    saved(page, 1)
    # Calm wording: saved on this phone, uploads when online — never a red failure.
    page.wait_for_function("() => document.getElementById('st').textContent.includes('联网后自动上传')")
    assert "上传失败" not in page.inner_text("#st")
    assert page.get_attribute("#st", "class") == "msg ok"
    assert page.inner_text("#rp") == "1/4"
    for n, code in enumerate(["U2", "U3", "U4"], start=2):
        page.click("#nxb")  # 评议下一个单位: the next unrated unit, identity kept
        assert page.input_value('select[name="unit"]') == code
        assert page.is_checked('input[name="identity"][value="rural"]')
        fill(page, identity=None)
        submit(page)
        saved(page, n)
        assert page.inner_text("#rp") == f"{n}/4"
    assert page.locator("#nxb").is_hidden()  # all four rated
    wait_pending(page, 4)
    # The phone lists what it holds: time, unit, summary, waiting.
    page.click("#hs summary")
    rows = page.locator("#hl li").all_inner_texts()
    assert len(rows) == 4 and all("待上传" in r and "满意5" in r for r in rows)
    assert any("国土所" in r for r in rows)
    page.screenshot(path=f"{artifacts_dir}/ux-visit-next-unit.png", full_page=True)

    page.context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_pending(page, 0)
    page.wait_for_function("() => [...document.querySelectorAll('#hl li')].every(li => li.textContent.includes('已上传'))")
    session.commit()  # a fresh snapshot
    rows = session.scalars(select(Response).where(Response.campaign_id == campaign.id)).all()
    assert sorted(r.unit.code for r in rows) == ["U1", "U2", "U3", "U4"]
    assert {r.identity_key for r in rows} == {"rural"}
    assert len({r.uuid for r in rows}) == 4


@pytest.mark.browser
def test_correcting_and_voiding_waiting_ratings(phone, live_url, make_campaign, make_link,
                                                session):
    campaign = make_campaign(units=FOUR)
    _, token = make_link(campaign, ["U1", "U2", "U3", "U4"], Channel.VISIT, "青山村")
    page = phone()
    page.on("dialog", lambda d: d.accept("选错了单位"))
    page.goto(f"{live_url}/s/{token}")
    wait_ready(page)
    page.context.set_offline(True)
    fill(page, unit="U1", level="unsatisfied", comment="办事慢", identity="rural")
    submit(page)
    saved(page, 1)
    fill(page, unit="U2", level="basic", identity="enterprise")
    submit(page)
    saved(page, 2)

    page.click("#hs summary")
    # Correct the U1 rating (newest first in the list: U2, then U1).
    u1 = page.locator("#hl li", has_text="派出所")
    u1.locator("button", has_text="更正").click()
    assert page.inner_text("button[type=submit]") == "提交更正"
    assert page.is_checked('input[name="a.efficiency"][value="unsatisfied"]')
    tap(page, "a.efficiency", "satisfied")
    tap(page, "a.attitude", "satisfied")
    submit(page)
    saved(page, 3)
    # Void the U2 rating, with a reason.
    page.locator("#hl li", has_text="卫生院").first.locator("button", has_text="作废").click()
    wait_pending(page, 4)  # original, correction, original, void — all waiting
    page.wait_for_function("() => document.getElementById('hl').textContent.includes('已作废')")
    texts = page.locator("#hl li").all_inner_texts()
    assert sum("已更正" in t for t in texts) == 1 and sum("已作废" in t for t in texts) == 1
    assert any("作废：选错了单位" in t for t in texts)

    page.context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_pending(page, 0)
    session.commit()
    rows = session.scalars(select(Response).where(Response.campaign_id == campaign.id)).all()
    assert len(rows) == 4  # every version reached the server and is kept
    by_unit = {}
    for r in rows:
        by_unit.setdefault(r.unit.code, []).append(r)
    original, fixed = sorted(by_unit["U1"], key=lambda r: r.replaces is not None)
    assert fixed.replaces == original.uuid and original.superseded_by == fixed.uuid
    assert original.comment == "办事慢"
    voided, void = sorted(by_unit["U2"], key=lambda r: r.is_void)
    assert void.is_void and void.void_reason == "选错了单位" and void.replaces == voided.uuid
    units = {u.code: u for u in campaign_tally(session, campaign, compare=False).units()}
    assert units["U1"].respondents == 1  # the latest version, once
    # 工作效率 and 服务态度 corrected to 满意, the other three 不满意: (100+100)/5 = 40
    assert units["U1"].score == 40
    assert units["U2"].respondents == 0 and units["U2"].score is None


def test_visit_page_stays_within_the_budget(client, make_campaign, make_link):
    campaign = make_campaign(units=FOUR)
    _, token = make_link(campaign, ["U1", "U2", "U3", "U4"], Channel.VISIT, "青山村")
    reply = client.get(f"/s/{token}", headers={"Accept-Encoding": "gzip"})
    assert len(reply.data) <= 14 * 1024
    print("visit page gzipped bytes:", len(reply.data), len(gzip.decompress(reply.data)))
