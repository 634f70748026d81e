"""Hostile or absurd input to the public endpoints gets a precise 4xx, never a 500."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from sync.links import revoke_link
from sync.models import Response


def post(client, items):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/sync", json={"device_id": "d", "responses": items})


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00+01:00",
                                        "9999-12-31T23:59:59-01:00", "1970-01-01T00:00:00Z"])
def test_absurd_timestamps_are_rejected_item_by_item(client, make_campaign, make_link,
                                                     make_item, created_at):
    _, token = make_link(make_campaign())
    good, bad = make_item(token), make_item(token, created_at=created_at)
    results = post(client, [good, bad]).json["results"]
    assert results[0]["status"] == "stored"
    assert results[1]["status"] == "rejected" and "日期" in results[1]["error"]


def test_deep_nesting_is_a_400(client):
    reply = client.post("/api/v1/sync", data="[" * 100_000, content_type="application/json")
    assert reply.status_code == 400 and reply.json["code"] == "malformed_json"


def test_nan_in_meta_is_rejected(client, session, make_campaign, make_link, make_item):
    _, token = make_link(make_campaign())
    item = make_item(token)
    item["meta"] = {"x": "NAN_HERE"}
    body = json.dumps({"responses": [item]}).replace('"NAN_HERE"', "NaN")
    reply = client.post("/api/v1/sync", data=body, content_type="application/json")
    assert reply.status_code == 200
    assert reply.json["results"][0]["status"] == "rejected"
    assert "NaN" in reply.json["results"][0]["error"]
    assert session.scalar(select(func.count()).select_from(Response)) == 0


def test_deeply_nested_meta_is_rejected_not_a_500(client, session, make_campaign, make_link,
                                                  make_item):
    # Deep enough to parse but not to be checked and re-encoded: a 500 once, at some depth here.
    _, token = make_link(make_campaign())
    for depth in range(850, 1000):
        item = make_item(token, meta={"x": "DEEP"})
        body = json.dumps({"responses": [item]}).replace('"DEEP"', "[" * depth + "]" * depth)
        reply = client.post("/api/v1/sync", data=body, content_type="application/json")
        if reply.status_code == 400:  # too deep for the parser: refused whole
            assert reply.json["code"] == "malformed_json"
            continue
        (result,) = reply.json["results"]
        assert (result["status"], result["error"]) == ("rejected", "meta：附加信息嵌套不能超过 8 层。")
    nested: dict = {}
    for _ in range(7):
        nested = {"k": nested}
    items = [make_item(token, meta=nested), make_item(token, meta={"k": nested})]
    results = post(client, items).json["results"]
    assert [r["status"] for r in results] == ["stored", "rejected"]
    assert session.scalar(select(func.count()).select_from(Response)) == 1


@pytest.mark.parametrize("url", ["/q/A%00B", "/s/abc%00def", "/admin/login?next=%00"])
def test_nul_characters_never_reach_the_store(client, url):
    reply = client.get(url)
    assert 400 <= reply.status_code < 500


def test_nul_in_a_posted_form_is_a_400(client):
    reply = client.post("/admin/login", data={"username": "a\x00", "password": "x"})
    assert reply.status_code == 400
    assert "空字符" in reply.get_data(as_text=True)


def test_campaigns_close_at_the_end_of_the_local_day(app, client, session, make_campaign,
                                                     make_link, make_item):
    """The close date ends at midnight Beijing time: a form opened at 23:30 Beijing time on the
    closing day may upload late; one opened at 00:30 the day after may not (UTC still says
    closing day for both)."""
    beijing = timezone(timedelta(hours=8))
    today = datetime.now(beijing).date()
    campaign = make_campaign(opens_on=today - timedelta(days=3), closes_on=today - timedelta(days=1))
    link, token = make_link(campaign)
    midnight = datetime.combine(today, datetime.min.time(), beijing)
    signer = app.extensions["link_signer"]
    items = [make_item(token, created_at=(opened + timedelta(minutes=1)).isoformat(),
                       receipt=signer.sign_receipt(link.id, opened))
             for opened in (midnight - timedelta(minutes=30), midnight + timedelta(minutes=30))]
    results = post(client, items).json["results"]
    assert results[0]["status"] == "stored"
    assert (results[1]["status"], results[1]["code"]) == ("rejected", "campaign_closed")


def test_ratings_begun_before_a_link_was_revoked_still_arrive(app, client, session,
                                                              make_campaign, make_link,
                                                              make_item):
    """A field worker offline with a day's ratings when the office reprints the card: the form
    receipt (not the phone's clock) shows the form was opened before the revocation."""
    link, token = make_link(make_campaign(opens_on=date.today() - timedelta(days=60)))
    opened = datetime.now(timezone.utc) - timedelta(hours=3)
    receipt = app.extensions["link_signer"].sign_receipt(link.id, opened)
    before = make_item(token, created_at=opened.isoformat(), receipt=receipt)
    revoke_link(session, link)
    session.commit()
    backdated = make_item(token, created_at=opened.isoformat())
    results = post(client, [before, backdated]).json["results"]
    assert results[0]["status"] == "stored"
    assert (results[1]["status"], results[1]["code"]) == ("rejected", "link_revoked")
    assert client.get(f"/s/{token}").status_code == 410  # the form itself stays closed

    link.revoked_at = datetime.now(timezone.utc) - timedelta(days=31)  # grace period over
    session.commit()
    old = datetime.now(timezone.utc) - timedelta(days=40)
    late = make_item(token, created_at=old.isoformat(),
                     receipt=app.extensions["link_signer"].sign_receipt(link.id, old))
    result = post(client, [late]).json["results"][0]
    assert result["code"] == "link_revoked" and "30 天" in result["error"]


def test_date_fits_the_campaign_day_helper():
    from sync.clock import local_day

    assert local_day(datetime(2026, 1, 1, 17, 0, tzinfo=timezone.utc)) == date(2026, 1, 2)
