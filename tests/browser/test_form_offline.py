"""The phone form in Chromium: online, offline with and without a Service Worker, bad uploads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import func, select

from sync.links import revoke_link
from sync.models import Answer, CampaignStatus, Channel, Conflict, Response

from .conftest import (
    DROP_AFTER,
    FAIL_AFTER,
    FAIL_BEFORE,
    PORTAL,
    REFUSE,
    STALL_AFTER,
    SYNC_PATH,
)
from .formpage import (
    fill,
    open_visit_form,
    pending,
    rate_visit,
    record_status,
    said,
    submit,
    wait_pending,
    wait_ready,
)

pytestmark = pytest.mark.browser


def stored(session) -> list[Response]:  # type: ignore[no-untyped-def]
    session.rollback()  # see what the server threads committed
    return list(session.scalars(select(Response).order_by(Response.id)))


def test_online_submit_is_stored_once(live_server, new_context, make_campaign, make_link,
                                      session):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    context = new_context()
    record_status(context)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    assert page.locator("h1").inner_text() == "测试评议活动"
    assert "市场监管局" in page.locator(".hd").inner_text()

    fill(page, level="basic", comment="窗口排队时间长")
    submit(page)
    page.wait_for_selector("#thx", state="visible")
    page.wait_for_function("() => document.getElementById('st').textContent.includes('已上传')")

    # saved on this phone first, then uploading, then uploaded
    messages = said(page)
    steps = ["第 1 份已保存在本机，正在上传…", "正在上传 1 份…", "已上传。"]
    assert [messages.index(m) for m in steps] == sorted(messages.index(m) for m in steps)
    assert messages[0] == steps[0]
    rows = stored(session)
    assert len(rows) == 1
    assert rows[0].channel == Channel.ONLINE and rows[0].comment == "窗口排队时间长"
    assert rows[0].device_id  # the phone's device id travelled with the batch
    assert session.scalar(select(func.count()).select_from(Answer)
                          .where(Answer.response_id == rows[0].id)) == 5
    assert live_server.faults.paths("POST") == ["/api/v1/sync"]


def test_visit_offline_reopens_from_service_worker(live_server, new_context, make_campaign,
                                                   make_link, session):
    campaign = make_campaign()
    link, token = make_link(campaign, ["ZF01", "ZF02"], channel=Channel.VISIT,
                            visit_place="红星村")
    url = f"{live_server.url}/s/{token}"
    context = new_context()
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("html[data-offline]", state="attached")  # worker active, page cached

    context.set_offline(True)
    gets_before = len(live_server.faults.paths("GET"))
    for n in range(20):
        rate_visit(page, n, unit="ZF01" if n % 2 else "ZF02")
    assert page.locator("#m").inner_text() == "20"

    reply = page.reload()
    assert reply is not None and reply.ok and reply.from_service_worker
    wait_ready(page)
    # the counters are filled in asynchronously from the phone's storage
    page.wait_for_function("() => document.getElementById('n').textContent === '20'"
                           " && document.getElementById('m').textContent === '20'")
    for n in range(20, 25):
        rate_visit(page, n, unit="ZF01")
    # Neither the page nor an upload reached the server. (The browser process's own fetches of
    # the worker script and the manifest run outside Playwright's offline emulation.)
    assert f"/s/{token}" not in live_server.faults.paths("GET")[gets_before:]
    assert live_server.faults.paths("POST") == []
    assert stored(session) == []

    # The office reprints the card while the phone is away: the link is revoked. The ratings
    # still count, on the strength of the receipts of the pages they were made on (the last five
    # on the page the Service Worker served offline), flagged as late uploads.
    revoke_link(session, link)
    session.commit()
    context.set_offline(False)
    wait_pending(page, 0)
    # the visit counters follow the queue asynchronously (read back from the phone's storage)
    page.wait_for_function("() => document.getElementById('m').textContent === '0'")
    assert page.locator("#lt").inner_text() != "尚未上传"
    assert page.locator("#pb").is_hidden()
    rows = stored(session)
    assert len(rows) == 25 and len({r.uuid for r in rows}) == 25
    assert {r.channel for r in rows} == {Channel.VISIT}
    assert sum(1 for r in rows if r.unit.code == "ZF01") == 15
    assert all(r.flags == ["late_upload"] for r in rows)
    assert all(r.receipt_issued_at < link.revoked_at for r in rows)


def test_offline_queue_without_service_worker(live_server, new_context, make_campaign, make_link,
                                              session):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"], channel=Channel.VISIT, visit_place="青山村")
    context = new_context(service_workers="block")
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    assert page.evaluate("navigator.serviceWorker && navigator.serviceWorker.controller") is None

    context.set_offline(True)
    for n in range(3):
        rate_visit(page, n)
    wait_pending(page, 3)
    # Offline is normal in a village: a calm note, never a red failure.
    page.wait_for_function("() => document.getElementById('st').textContent === '第 3 份已保存在本机，联网后自动上传。'")
    assert page.get_attribute("#st", "class") == "msg ok"
    assert page.evaluate("getComputedStyle(document.getElementById('st')).color") != "rgb(201, 42, 42)"
    assert stored(session) == []

    context.set_offline(False)
    wait_pending(page, 0)
    assert len(stored(session)) == 3


@pytest.mark.parametrize("fault", [FAIL_BEFORE, FAIL_AFTER, DROP_AFTER, PORTAL])
def test_failed_uploads_lose_nothing_and_double_nothing(fault, live_server, new_context,
                                                        make_campaign, make_link, session):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01", "ZF02"], channel=Channel.VISIT, visit_place="红星村")
    context = new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    context.set_offline(True)
    for n in range(4):
        rate_visit(page, n, unit="ZF02")
    live_server.faults.fail_next_uploads(fault, times=2)

    context.set_offline(False)  # the `online` event starts the upload; the timer retries it
    wait_pending(page, 0)
    assert live_server.faults.faults_left == 0
    rows = stored(session)
    assert len(rows) == 4 and len({r.uuid for r in rows}) == 4
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Conflict)) == 0
    assert page.locator("#pb").is_hidden()  # nothing left as rejected or conflicting
    if fault in (FAIL_AFTER, DROP_AFTER):
        # the server really had stored the batch whose answer was lost
        assert {r["status"] for r in live_server.faults.sync_bodies[0]["results"]} == {"stored"}


POISON = """([marker, comment]) => {
  const cfg = JSON.parse(document.getElementById('cfg').textContent);
  const answers = {};
  cfg.form.items.forEach(i => { answers[i.key] = 'satisfied'; });
  const id = crypto.randomUUID();
  localStorage.setItem('pq:' + id, JSON.stringify({
    id, token: cfg.token, unit: 'ZF01', created_at: new Date().toISOString(), answers,
    comment: marker + comment.replace('<lone surrogate>', String.fromCharCode(0xD800)), identity: 'enterprise', meta: {}, receipt: cfg.form.receipt,
    t: Date.now()}));
  return id;
}"""


def test_one_poisoned_item_never_holds_back_the_queue(live_server, new_context, make_campaign,
                                                      make_link, session):
    """A queue with good ratings, one the server cannot store (a lone UTF-16 surrogate) and one
    that makes the server fail (500) whenever a batch holds it: the batch is split, the good ones
    are stored, the bad ones stay on the phone, shown with their reasons."""
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"], channel=Channel.VISIT, visit_place="红星村")
    context = new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    context.set_offline(True)
    rate_visit(page, 0)
    rate_visit(page, 1)
    surrogate = page.evaluate(POISON, ["", "乱码<lone surrogate>"])  # sent as "\\ud800"
    crashing = page.evaluate(POISON, ["CRASH-ME ", "服务器处理它时会出错"])
    for n in range(2, 5):
        rate_visit(page, n)
    live_server.faults.fail_batches_containing("CRASH-ME")

    context.set_offline(False)
    page.wait_for_function("() => document.querySelectorAll('#bad li').length === 2")
    wait_pending(page, 1)  # the one that made the server fail is still to upload, alone
    rows = stored(session)
    assert len(rows) == 5 and all("CRASH-ME" not in (r.comment or "") for r in rows)
    assert live_server.faults.poisoned >= 2  # the whole batch, then the halves holding it
    problems = page.locator("#bad li").all_inner_texts()
    assert any("代理项" in p for p in problems), problems
    assert any("暂未上传" in p and "500" in p for p in problems), problems
    queued = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('pq:'))")
    assert sorted(queued) == sorted(["pq:" + surrogate, "pq:" + crashing])


def test_rate_limited_uploads_lose_nothing_and_drain_later(app, client, live_server, new_context,
                                                          make_campaign, make_link, session):
    """A real 429 from the address limit (a busy hall behind one NAT): the phone keeps its
    queue, backs off like on a network error, and uploads everything once the limit allows."""
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01", "ZF02"], channel=Channel.VISIT, visit_place="红星村")
    app.config["ADDRESS_RATE_LIMIT"] = "2 per hour"
    for n in range(2):  # other phones in the hall use up the address's budget
        assert client.post("/api/v1/sync", json={"device_id": f"other-{n}", "responses": []},
                           environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    context = new_context()
    page = context.new_page()
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/api/v1/sync" in r.url else None)
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    for n in range(3):
        rate_visit(page, n, unit="ZF01")
    page.wait_for_function("() => document.getElementById('st').textContent.includes('429')")
    assert 429 in statuses and 200 not in statuses
    assert "已保存在本机" in page.locator("#st").inner_text()
    assert pending(page) == 3 and stored(session) == []

    app.config["ADDRESS_RATE_LIMIT"] = "600 per minute"  # the hall's rush is over
    wait_pending(page, 0)  # the backoff timer retries on its own
    rows = stored(session)
    assert len(rows) == 3 and len({r.uuid for r in rows}) == 3
    assert page.locator("#pb").is_hidden()


def run_clock_until(page, done: str, step_ms: int = 5_000, steps: int = 40) -> None:  # type: ignore[no-untyped-def]
    """Move the page's installed fake clock on in steps until `done` (a JS expression) holds."""
    for _ in range(steps):
        if page.evaluate(f"() => {done}"):
            return
        page.clock.run_for(step_ms)
        page.wait_for_timeout(100)  # let network answers and storage callbacks land
    assert page.evaluate(f"() => {done}"), done


@pytest.mark.parametrize("abort", [True, False], ids=["AbortController", "old webview"])
def test_an_answer_that_stalls_midway_never_holds_the_queue(abort, live_server, new_context,
                                                              make_campaign, make_link, session):
    """The server stored the batch and its answer's headers arrived, then the weak signal stalls
    the body for good: the phone gives up on that answer like on any other lost one, and the next
    pass drains the queue (the server answers duplicate: nothing counted twice). Old webviews
    without AbortController must give up too."""
    campaign, context, page = open_visit_form(
        live_server, new_context, make_campaign, make_link,
        init_script=None if abort else "delete window.AbortController",
        before_open=lambda page: page.clock.install())
    context.set_offline(True)
    for n in range(3):
        rate_visit(page, n)
    live_server.faults.fail_next_uploads(STALL_AFTER)

    context.set_offline(False)
    page.wait_for_function("() => document.getElementById('st').textContent === '正在上传 3 份…'")
    for _ in range(100):  # the server stores the batch, then its answer stalls
        if live_server.faults.sync_bodies:
            break
        page.wait_for_timeout(100)
    assert len(stored(session)) == 3  # stored, but the phone has not heard so
    assert pending(page) == 3

    run_clock_until(page, "document.documentElement.dataset.pending === '0'")
    rows = stored(session)
    assert len(rows) == 3 and len({r.uuid for r in rows}) == 3
    assert page.locator("#pb").is_hidden()


@pytest.mark.parametrize("skew", [timedelta(hours=-3), timedelta(minutes=40)],
                         ids=["phone behind", "phone ahead"])
def test_a_phone_with_a_wrong_clock_still_gets_its_ratings_in(skew, live_server, new_context,
                                                                make_campaign, make_link,
                                                                session):
    """The server refuses a filling time before the form was opened or in its future. A phone
    whose clock is off learns by how much from the server's Date header and resends the rating
    stamped by the server's clock (keeping its own reading in meta); the rating is not left
    refused for ever, and a poster rater is not told 已评议 for a rating that never counted."""
    campaign, context, page = open_visit_form(
        live_server, new_context, make_campaign, make_link,
        before_open=lambda page: page.clock.install(time=datetime.now(timezone.utc) + skew))
    context.set_offline(True)
    for n in range(3):
        rate_visit(page, n)
    context.set_offline(False)
    wait_pending(page, 0)
    assert page.locator("#pb").is_hidden(), page.locator("#bad").inner_text()
    rows = stored(session)
    assert len(rows) == 3
    for row in rows:
        stamped = row.created_at if row.created_at.tzinfo else row.created_at.replace(
            tzinfo=timezone.utc)
        assert abs(stamped - datetime.now(timezone.utc)) < timedelta(minutes=2)
        phone = datetime.fromisoformat(row.meta["phone_created_at"].replace("Z", "+00:00"))
        assert abs(phone - stamped - skew) < timedelta(minutes=2)


@pytest.mark.parametrize("broken, reopen", [
    # some WebKit builds (iOS 14.6 WKWebView, WeChat's browser there) never answer open: the form
    # must not wait for it for ever, and uploads the queue from the same page
    ("IDBFactory.prototype.open = function () { return {}; };", False),
    # no IndexedDB at all: a fresh page finds the queue left in localStorage and uploads it
    ("Object.defineProperty(window, 'indexedDB', {value: undefined})", True),
], ids=["never opens", "missing"])
def test_the_queue_lives_in_localstorage_when_indexeddb_fails(broken, reopen, live_server,
                                                              new_context, make_campaign,
                                                              make_link, session):
    """Without a working IndexedDB the form keeps each rating in localStorage, says it is saved,
    and uploads the queue."""
    campaign, context, page = open_visit_form(live_server, new_context, make_campaign,
                                              make_link, init_script=broken)
    context.set_offline(True)
    rate_visit(page, 0)
    rate_visit(page, 1)
    page.wait_for_function("() => document.getElementById('st').textContent === '第 2 份已保存在本机，联网后自动上传。'")
    assert len(page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('pq:'))")) == 2

    context.set_offline(False)
    if reopen:
        page.reload()
    wait_pending(page, 0)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('pq:'))") == []
    rows = stored(session)
    assert len(rows) == 2 and len({r.uuid for r in rows}) == 2


@pytest.mark.parametrize("status", [401, 403, 404, 405, 410])
def test_a_refusal_not_about_the_items_refuses_none_of_them(status, live_server, new_context,
                                                              make_campaign, make_link, session):
    """A JSON 4xx other than a bad batch (400/422) or too large (413) says nothing about the
    ratings: the phone waits and tries again; it never splits the batch down to single items and
    marks each one refused for good."""
    campaign, context, page = open_visit_form(
        live_server, new_context, make_campaign, make_link)
    context.set_offline(True)
    for n in range(2):
        rate_visit(page, n)
    live_server.faults.fail_next_uploads(REFUSE.format(status), times=2)

    context.set_offline(False)
    wait_pending(page, 0)
    assert live_server.faults.faults_left == 0
    assert page.locator("#pb").is_hidden(), page.locator("#bad").inner_text()
    rows = stored(session)
    assert len(rows) == 2 and len({r.uuid for r in rows}) == 2


def test_a_full_phone_keeps_the_servers_verdict_and_does_not_resend_in_a_loop(
        live_server, new_context, make_campaign, make_link, session):
    """The queue sits in IndexedDB; then the phone's storage fills up, so IndexedDB refuses
    writes and the queue's verdicts (refused, set aside) land in localStorage beside the older
    IndexedDB copies. The newer copy must win: the refused ratings are shown as refused, not
    sent again and again with no pause."""
    campaign, context, page = open_visit_form(
        live_server, new_context, make_campaign, make_link)
    context.set_offline(True)
    for n in range(3):
        rate_visit(page, n)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('pq:'))") == []
    page.evaluate("""() => { IDBObjectStore.prototype.put = function () {
        throw new DOMException('full', 'QuotaExceededError'); }; }""")
    campaign.status = CampaignStatus.CLOSED  # closed long ago: no receipt lets them in now
    session.commit()
    campaign.closed_at = datetime.now(timezone.utc) - timedelta(days=31)
    session.commit()

    context.set_offline(False)
    page.wait_for_function("() => document.querySelectorAll('#bad li').length === 3")
    wait_pending(page, 0)
    page.wait_for_timeout(2_000)
    assert len(live_server.faults.paths("POST")) == 1
    assert stored(session) == []
    assert all("评议已结束" in p for p in page.locator("#bad li").all_inner_texts())


# IndexedDB as on a slow phone: each transaction's `complete` reaches the page 500 ms late (the
# data itself is committed at once), which widens the gap between a read and the write after it.
SLOW_IDB = """(() => {
  const open = IDBDatabase.prototype.transaction;
  const set = Object.getOwnPropertyDescriptor(IDBTransaction.prototype, 'oncomplete').set;
  IDBDatabase.prototype.transaction = function (...args) {
    const t = open.apply(this, args);
    Object.defineProperty(t, 'oncomplete', {
      set(fn) { set.call(t, e => setTimeout(() => fn.call(t, e), 500)); },
    });
    return t;
  };
})();"""


def test_a_rating_saved_while_an_upload_settles_keeps_both_in_the_history(
        live_server, new_context, make_campaign, make_link, session):
    """The upload marking its batch and a new submit both edit the visit history: neither may
    drop the other's change (the new rating, or the first one's 已上传)."""
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"], channel=Channel.VISIT, visit_place="红星村")
    context = new_context(service_workers="block")  # page.route sees the uploads
    context.add_init_script(SLOW_IDB)
    page = context.new_page()
    held: list = []

    def hold_first_upload(route) -> None:  # type: ignore[no-untyped-def]
        if held:
            route.continue_()
        else:  # the server stores the batch now; the phone gets the answer when the test says
            held.append((route, route.fetch()))

    page.route(f"**{SYNC_PATH}", hold_first_upload)
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    rate_visit(page, 0, comment="第一份")
    while not held:
        page.wait_for_timeout(50)

    # Release the first upload's answer and submit a second rating at once: the upload's marking
    # of the first rating and the saving of the second now read the history at the same moment.
    fill(page, comment="第二份")
    route, response = held[0]
    route.fulfill(response=response)
    submit(page)
    wait_pending(page, 0)
    assert len(stored(session)) == 2

    want = """() => {
      const entries = [...document.querySelectorAll('#hl li')];
      return entries.length === 2 && entries.every(li => li.textContent.includes('已上传'));
    }"""
    try:
        page.wait_for_function(want, timeout=10_000)
    except PlaywrightTimeoutError:
        pass  # the assertions below say what is missing
    entries = page.locator("#hl li").all_text_contents()
    assert len(entries) == 2 and "第二份" in entries[0] and "第一份" in entries[1], entries
    assert all("已上传" in e and "更正" in e and "作废" in e for e in entries), entries
    assert page.locator("#hn").text_content() == "2"
