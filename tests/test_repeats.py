"""Poster repeats are decided exactly once: one device counts once per unit, also when its
ratings race each other on PostgreSQL."""

from __future__ import annotations

import pytest
from concurrency import all_at_once
from sqlalchemy import select

from sync.integrity.repeats import REPEAT_DEVICE, DeviceUnitClaim
from sync.models import Channel, Response
from sync.reports import campaign_tally


def post(client, items, device_id="phone-A"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/sync", json={"device_id": device_id, "responses": items})


def respondents(session, campaign, code: str) -> int:  # type: ignore[no-untyped-def]
    (unit,) = [u for u in campaign_tally(session, campaign).units() if u.code == code]
    return unit.respondents


@pytest.fixture
def poster(make_campaign, make_link):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    return campaign, token


@pytest.mark.parametrize("round_", range(50))
def test_eight_simultaneous_ratings_from_one_device_count_once(app, session, poster, make_item,
                                                               round_):
    campaign, token = poster
    items = [make_item(token) for _ in range(8)]

    def rate(k: int) -> str:
        reply = post(app.test_client(), [items[k]])  # its own request, hence its own connection
        assert reply.status_code == 200, reply.get_data(as_text=True)
        return reply.json["results"][0]["status"]

    statuses = all_at_once(rate, len(items))
    assert statuses == ["stored"] * 8  # every rating kept

    session.rollback()  # see what the threads committed
    rows = session.scalars(select(Response)).all()
    counted = [r for r in rows if not r.is_repeat]
    assert len(rows) == 8 and len(counted) == 1
    assert all(r.flags == [REPEAT_DEVICE] for r in rows if r.is_repeat)
    assert counted[0].flags == []
    (claim,) = session.scalars(select(DeviceUnitClaim)).all()
    assert (claim.device_id, claim.response_uuid) == ("phone-A", counted[0].uuid)
    assert respondents(session, campaign, "ZF01") == 1


def test_repeats_within_one_batch_and_across_units(client, session, make_campaign, make_link,
                                                   make_item):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01", "ZF02"])
    _, visit = make_link(campaign, ["ZF01"], channel=Channel.VISIT, visit_place="红星村")
    batch = [make_item(token, unit="ZF01"), make_item(token, unit="ZF01"),
             make_item(token, unit="ZF02"), make_item(visit), make_item(visit)]
    assert [r["status"] for r in post(client, batch).json["results"]] == ["stored"] * 5
    flags = dict(session.execute(select(Response.uuid, Response.flags)).all())
    # The first in request order counts; another unit is another pair; visits never repeat.
    assert [flags[i["id"]] for i in batch] == [[], [REPEAT_DEVICE], [], [], []]
    # A resend of the counted one is a duplicate and changes nothing; a new one is a repeat.
    again = post(client, [batch[0], make_item(token, unit="ZF02")]).json["results"]
    assert [r["status"] for r in again] == ["duplicate", "stored"]
    session.rollback()
    assert session.scalar(select(Response.flags).where(Response.uuid == again[1]["id"])) \
        == [REPEAT_DEVICE]
    assert respondents(session, campaign, "ZF01") == 1 + 2  # phone-A once, two visit raters
    assert respondents(session, campaign, "ZF02") == 1


def test_a_conflicting_resend_claims_nothing(client, session, make_campaign, make_link,
                                             make_item):
    """The same id with other content under another device is kept as a conflict; it must not
    take the (device, unit) claim from the rating that later comes from that device."""
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    first = make_item(token)
    assert post(client, [first], device_id="phone-A").json["results"][0]["status"] == "stored"
    clash = dict(first, comment="改过的内容")
    fresh = make_item(token)
    results = post(client, [clash, fresh], device_id="phone-B").json["results"]
    assert [r["status"] for r in results] == ["conflict", "stored"]
    session.rollback()
    assert session.scalar(select(Response.flags).where(Response.uuid == fresh["id"])) == []


def test_late_and_repeat_flags_together(app, client, session, make_campaign, make_link,
                                        make_item):
    from datetime import datetime, timedelta, timezone

    from sync.links import revoke_link

    campaign = make_campaign()
    link, token = make_link(campaign, ["ZF01"])
    opened = datetime.now(timezone.utc) - timedelta(hours=1)
    receipt = app.extensions["link_signer"].sign_receipt(link.id, opened)
    revoke_link(session, link)
    session.commit()
    items = [make_item(token, created_at=opened.isoformat(), receipt=receipt) for _ in range(2)]
    assert [r["status"] for r in post(client, items).json["results"]] == ["stored"] * 2
    flags = dict(session.execute(select(Response.uuid, Response.flags)).all())
    assert [flags[i["id"]] for i in items] == [["late_upload"],
                                               ["late_upload", REPEAT_DEVICE]]
