"""Rate limits on sync (per device, per address) and on link look-ups (per address), 429 replies,
trusted proxies and short codes (in one process; test_ratelimits_gunicorn.py runs 3 workers)."""

from __future__ import annotations

import re

from collector import create_app
from collector.extensions import db
from collector.ratelimits import FAILED_LOOKUP_COST
from qr.links import SHORT_CODE_LENGTH


def sync(client, device: str | None, address: str = "198.51.100.7"):  # type: ignore[no-untyped-def]
    body = {"responses": []} if device is None else {"device_id": device, "responses": []}
    return client.post("/api/v1/sync", json=body, environ_base={"REMOTE_ADDR": address})


def test_a_burst_from_one_device_does_not_block_another_at_the_same_address(app, client):
    app.config.update(SYNC_RATE_LIMIT="3 per minute", ADDRESS_RATE_LIMIT="20 per minute")
    assert [sync(client, "phone-a").status_code for _ in range(5)] == [200, 200, 200, 429, 429]
    assert [sync(client, "phone-b").status_code for _ in range(3)] == [200, 200, 200]
    assert sync(client, "phone-a", address="203.0.113.5").status_code == 429  # the device's own


def test_the_address_limit_backs_up_client_chosen_device_ids(app, client):
    app.config.update(SYNC_RATE_LIMIT="3 per minute", ADDRESS_RATE_LIMIT="6 per minute")
    statuses = [sync(client, f"made-up-{n}").status_code for n in range(8)]
    assert statuses == [200] * 6 + [429] * 2
    assert sync(client, "made-up-99", address="203.0.113.5").status_code == 200  # other address
    # No device id at all: counted per address for the device limit as well.
    assert sync(client, None, address="192.0.2.1").status_code == 200


def test_a_429_says_when_to_retry_in_chinese(app, client):
    app.config.update(SYNC_RATE_LIMIT="1 per minute")
    assert sync(client, "phone-a").status_code == 200
    reply = sync(client, "phone-a")
    assert reply.status_code == 429
    assert 1 <= int(reply.headers["Retry-After"]) <= 61  # the window, rounded up
    body = reply.get_json()
    assert body["code"] == "rate_limited"
    assert "秒后再试" in body["error"] and "不会丢失" in body["error"]


def test_failed_look_ups_cost_more_than_forms_opened(app, client, make_campaign, make_link):
    link, token = make_link(make_campaign())
    app.config.update(FORM_RATE_LIMIT=f"{2 * FAILED_LOOKUP_COST + 3} per minute")
    guesser = {"REMOTE_ADDR": "198.51.100.66"}
    # Two wrong guesses (a forged token, an unknown short code) use up 2 × FAILED_LOOKUP_COST…
    assert client.get(f"/s/{token[:-3]}abc", environ_base=guesser).status_code in (400, 403)
    assert client.get("/q/ZZZZZZZZ", environ_base=guesser).status_code == 404
    # …so only three more requests of any kind get through (the budget is shared by /s/, /q/
    # and the forms API).
    statuses = [client.get(path, environ_base=guesser).status_code
                for path in (f"/s/{token}", f"/q/{link.short_code}", f"/api/v1/forms/{token}",
                             f"/s/{token}")]
    assert statuses == [200, 302, 200, 429]
    page = client.get(f"/s/{token}", environ_base=guesser)
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
    assert "操作过于频繁" in page.get_data(as_text=True)
    assert page.mimetype == "text/html"
    # A rater at another address is not affected.
    assert client.get(f"/s/{token}", environ_base={"REMOTE_ADDR": "203.0.113.8"}).status_code == 200


def test_opening_forms_is_cheap(app, client, make_campaign, make_link):
    _, token = make_link(make_campaign())
    app.config.update(FORM_RATE_LIMIT="12 per minute")
    hall = {"REMOTE_ADDR": "198.51.100.77"}
    assert [client.get(f"/s/{token}", environ_base=hall).status_code
            for _ in range(13)] == [200] * 12 + [429]


def _host(database_url: str, tmp_path, proxies: int):  # type: ignore[no-untyped-def]
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                       "SQLALCHEMY_DATABASE_URI": database_url, "TRUSTED_PROXIES": proxies,
                       "SYNC_RATE_LIMIT": "100 per minute", "ADDRESS_RATE_LIMIT": "2 per minute"},
                      instance_path=str(tmp_path))


def test_trusted_proxies_make_limits_see_the_client_address(app, database_url, tmp_path):
    for proxies, expected in ((1, [200, 200, 200, 200]), (0, [200, 200, 429, 429])):
        host = _host(database_url, tmp_path, proxies)
        client = host.test_client()
        statuses = []
        for n, client_address in enumerate(["192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.2"]):
            statuses.append(client.post(
                "/api/v1/sync", json={"device_id": f"d{n}", "responses": []},
                headers={"X-Forwarded-For": client_address},
                environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code)
        assert statuses == expected, proxies
        with host.app_context():
            db.engine.dispose()


def test_a_spoofed_forwarded_for_is_ignored_without_a_proxy(app, client):
    app.config.update(ADDRESS_RATE_LIMIT="2 per minute")
    statuses = [client.post("/api/v1/sync", json={"device_id": f"d{n}", "responses": []},
                            headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code
                for n in range(3)]
    assert statuses == [200, 200, 429]


def test_new_short_codes_have_eight_characters_and_old_ones_still_work(client, session,
                                                                       make_campaign, make_link):
    assert SHORT_CODE_LENGTH >= 8
    campaign = make_campaign()
    link, _ = make_link(campaign)
    assert re.fullmatch(r"[2-9A-Z]{8}", link.short_code)
    printed, _ = make_link(campaign, ["ZF02"])
    printed.short_code = "K7M2QX"  # a code printed when codes had six characters
    session.commit()
    reply = client.get("/q/K7M2QX")
    assert reply.status_code == 302 and "/s/" in reply.headers["Location"]


def test_the_default_memory_storage_keeps_exact_limits_without_a_thread_per_request():
    """pingyi-memory:// refuses exactly at the limit, and a burst starts at most one sweeper."""
    import time

    from limits import parse
    from limits.storage import storage_from_string
    from limits.strategies import MovingWindowRateLimiter

    from collector.ratelimits import SweptMemoryStorage

    storage = storage_from_string("pingyi-memory://")
    assert isinstance(storage, SweptMemoryStorage)
    window = MovingWindowRateLimiter(storage)
    limit = parse("30 per minute")
    time.sleep(0.05)  # the constructor's first 10 ms timer has finished
    timers = set()
    for _ in range(30):
        assert window.hit(limit, "device:a")
        timers.add(id(storage.timer))
        time.sleep(0.002)
    assert not window.hit(limit, "device:a")  # the 31st in the minute is refused
    assert window.hit(limit, "device:b")  # another key has its own budget
    assert len(timers) == 1
