"""A form receipt lets late uploads in, but on posters it counts once per unit: revoking an
abused poster link stops whoever is stuffing it, new rating ids and device ids or not."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from concurrency import all_at_once
from sqlalchemy import select

from sync.db import write_transaction
from sync.integrity.repeats import REPEAT_RECEIPT, ReceiptUnitClaim
from sync.links import revoke_link
from sync.models import Channel, Response
from sync.reports import campaign_tally
from sync.reports.totals import rebuild_totals


def post(client, items, device_id="phone-1"):  # type: ignore[no-untyped-def]
    reply = client.post("/api/v1/sync", json={"device_id": device_id, "responses": items})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.json["results"]


def respondents(session, campaign) -> dict[str, int]:  # type: ignore[no-untyped-def]
    session.rollback()
    return {u.code: u.respondents for u in campaign_tally(session, campaign).units()
            if u.code in ("ZF01", "ZF02")}


def counted_rebuilt(session, campaign) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The same, after recomputing the totals from the raw rows: the running totals agree."""
    before = respondents(session, campaign)
    with write_transaction(session):
        rebuild_totals(session, [campaign.id])
    assert respondents(session, campaign) == before
    return before


def flags(session) -> dict[str, tuple[list[str], bool]]:  # type: ignore[no-untyped-def]
    session.rollback()
    return {uuid: (f, rep) for uuid, f, rep in session.execute(
        select(Response.uuid, Response.flags, Response.is_repeat))}


@pytest.fixture
def revoked_poster(app, session, make_campaign, make_link):  # type: ignore[no-untyped-def]
    """A poster for two units, revoked after one form was opened: (campaign, token, receipt)."""
    campaign = make_campaign()
    link, token = make_link(campaign, ["ZF01", "ZF02"])
    opened = datetime.now(timezone.utc) - timedelta(hours=1)
    receipt = app.extensions["link_signer"].sign_receipt(link.id, opened)
    revoke_link(session, link)
    session.commit()
    return campaign, token, receipt, opened


def late(make_item, token, receipt, opened, unit="ZF01"):  # type: ignore[no-untyped-def]
    return make_item(token, unit=unit, receipt=receipt,
                     created_at=(opened + timedelta(minutes=5)).isoformat())


def test_one_receipt_counts_once_per_unit_on_a_revoked_poster(client, session, revoked_poster,
                                                             make_item):
    campaign, token, receipt, opened = revoked_poster
    items = [late(make_item, token, receipt, opened) for _ in range(5)]
    # New ids and new device ids every time (and one with no usable device id at all).
    devices = ["phone-1", "phone-2", "phone-3", "", "phone-5"]
    for item, device in zip(items, devices, strict=True):
        assert post(client, [item], device_id=device)[0]["status"] == "stored"
    other = [late(make_item, token, receipt, opened, "ZF02") for _ in range(2)]
    for n, item in enumerate(other):
        assert post(client, [item], device_id=f"phone-{9 + n}")[0]["status"] == "stored"

    stored = flags(session)
    assert stored[items[0]["id"]] == (["late_upload"], False)
    for item in items[1:]:  # kept for review, flagged, not counted
        assert stored[item["id"]] == (["late_upload", REPEAT_RECEIPT], True)
    assert stored[other[0]["id"]] == (["late_upload"], False)  # another unit: another pair
    assert stored[other[1]["id"]] == (["late_upload", REPEAT_RECEIPT], True)
    assert counted_rebuilt(session, campaign) == {"ZF01": 1, "ZF02": 1}
    claims = session.scalars(select(ReceiptUnitClaim)).all()
    assert sorted(c.response_uuid for c in claims) == sorted([items[0]["id"], other[0]["id"]])

    # A resend of a counted one and of a repeat is a duplicate and changes nothing.
    results = post(client, [items[0], items[3]], device_id="phone-1")
    assert [r["status"] for r in results] == ["duplicate", "duplicate"]
    assert flags(session) == stored
    assert counted_rebuilt(session, campaign) == {"ZF01": 1, "ZF02": 1}


def test_a_receipt_repeat_in_one_batch_and_a_device_repeat_together(client, session,
                                                                    revoked_poster, make_item):
    """The device claim decides first; a device repeat leaves the receipt to the next rating."""
    campaign, token, receipt, opened = revoked_poster
    items = [late(make_item, token, receipt, opened) for _ in range(3)]
    assert [r["status"] for r in post(client, items)] == ["stored"] * 3
    stored = flags(session)
    assert [stored[i["id"]] for i in items] == [
        (["late_upload"], False),
        (["late_upload", "repeat_device"], True),
        (["late_upload", "repeat_device"], True)]
    assert counted_rebuilt(session, campaign)["ZF01"] == 1


def test_on_time_poster_ratings_claim_no_receipt(client, session, app, make_campaign, make_link,
                                                 make_item):
    campaign = make_campaign()
    link, token = make_link(campaign, ["ZF01"])
    receipt = app.extensions["link_signer"].sign_receipt(link.id)
    items = [make_item(token, receipt=receipt) for _ in range(3)]
    for n, item in enumerate(items):
        assert post(client, [item], device_id=f"phone-{n}")[0]["status"] == "stored"
    assert session.scalars(select(ReceiptUnitClaim)).all() == []
    assert counted_rebuilt(session, campaign)["ZF01"] == 3


def test_a_visit_receipt_covers_a_day_of_households(client, session, app, make_campaign,
                                                    make_link, make_item):
    campaign = make_campaign()
    link, token = make_link(campaign, ["ZF01"], channel=Channel.VISIT, visit_place="红星村")
    opened = datetime.now(timezone.utc) - timedelta(hours=6)
    receipt = app.extensions["link_signer"].sign_receipt(link.id, opened)
    revoke_link(session, link)
    session.commit()
    items = [make_item(token, receipt=receipt,
                       created_at=(opened + timedelta(minutes=20 * n)).isoformat())
             for n in range(5)]
    assert [r["status"] for r in post(client, items, device_id="staff-1")] == ["stored"] * 5
    assert all(f == (["late_upload"], False) for f in flags(session).values())
    assert session.scalars(select(ReceiptUnitClaim)).all() == []
    assert counted_rebuilt(session, campaign)["ZF01"] == 5


@pytest.mark.parametrize("round_", range(10))
def test_concurrent_late_batches_on_one_receipt_count_once(app, session, revoked_poster,
                                                           make_item, round_):
    campaign, token, receipt, opened = revoked_poster
    items = [late(make_item, token, receipt, opened) for _ in range(4)]

    def rate(k: int) -> str:
        client = app.test_client()  # its own request, hence its own connection
        return post(client, [items[k]], device_id=f"phone-{k}")[0]["status"]

    statuses = all_at_once(rate, len(items))
    assert statuses == ["stored"] * len(items)

    stored = flags(session)
    counted = [uuid for uuid, (_, repeat) in stored.items() if not repeat]
    assert len(stored) == len(items) and len(counted) == 1
    assert all(f == ["late_upload", REPEAT_RECEIPT] for f, repeat in stored.values() if repeat)
    (claim,) = session.scalars(select(ReceiptUnitClaim)).all()
    assert claim.response_uuid == counted[0]
    assert counted_rebuilt(session, campaign) == {"ZF01": 1, "ZF02": 0}
