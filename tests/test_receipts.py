"""Server time decides access: backdating a rating opens no door; a form receipt from before the
closing moment does (flagged late_upload)."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from qr.links import LinkSigner, ReceiptInvalid
from sync.links import reissue_link, revoke_link
from sync.models import CampaignStatus, Channel, Response
from sync.unit_archive import archive_unit


def post(client, items, device_id="phone-1"):  # type: ignore[no-untyped-def]
    reply = client.post("/api/v1/sync", json={"device_id": device_id, "responses": items})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.json["results"]


def ago(**delta) -> datetime:  # type: ignore[no-untyped-def]
    return datetime.now(timezone.utc) - timedelta(**delta)


@pytest.fixture
def signer(app) -> LinkSigner:  # type: ignore[no-untyped-def]
    return app.extensions["link_signer"]


@pytest.fixture
def visit(make_campaign, make_link):  # type: ignore[no-untyped-def]
    """A visit link of an open campaign: (campaign, link, token)."""
    campaign = make_campaign(opens_on=date.today() - timedelta(days=60))
    link, token = make_link(campaign, ["ZF01"], channel=Channel.VISIT, visit_place="红星村")
    return campaign, link, token


def rows(session) -> dict[str, Response]:  # type: ignore[no-untyped-def]
    session.rollback()
    return {r.uuid: r for r in session.scalars(select(Response))}


def test_opening_the_form_hands_out_a_receipt(client, signer, visit):
    _, link, token = visit
    before = datetime.now(timezone.utc)
    receipt = client.get(f"/api/v1/forms/{token}").json["receipt"]
    page = client.get(f"/s/{token}").get_data(as_text=True)
    proof = signer.verify_receipt(receipt)
    assert proof.link_id == link.id
    assert before - timedelta(seconds=1) <= proof.issued_at <= datetime.now(timezone.utc)
    embedded = re.search(r'name="receipt" value="([^"]+)"', page).group(1)  # the no-JS form's
    assert signer.verify_receipt(embedded).link_id == link.id


def test_a_receipt_from_the_closing_millisecond_is_not_from_before(client, session, signer,
                                                                   visit, make_item):
    """Receipts keep milliseconds, closing moments microseconds: a receipt issued 0.3 ms after the
    link was revoked reads as .123 against .123456, and must not pass for one from before."""
    _, link, token = visit
    revoke_link(session, link)
    link.revoked_at = ago(minutes=5).replace(microsecond=123456)
    session.commit()
    after = make_item(token, receipt=signer.sign_receipt(
        link.id, link.revoked_at + timedelta(microseconds=300)))
    before = make_item(token, receipt=signer.sign_receipt(
        link.id, link.revoked_at - timedelta(microseconds=500)))
    results = post(client, [after, before])
    assert (results[0]["status"], results[0]["code"]) == ("rejected", "link_revoked")
    assert results[1]["status"] == "stored"


def test_receipts_rotate_keys_and_never_pass_for_tokens():
    old = LinkSigner(["k-2025"]).sign_receipt(7)
    assert LinkSigner(["k-2025", "k-2026"]).verify_receipt(old).link_id == 7
    with pytest.raises(ReceiptInvalid):
        LinkSigner(["k-2026"]).verify_receipt(old)
    with pytest.raises(ReceiptInvalid):
        LinkSigner(["k-2025"]).verify_receipt(old[:-2] + ("AA" if old[-2:] != "AA" else "BB"))


@pytest.mark.parametrize("close", ["revoke", "reissue", "close_by_hand", "past_close_date",
                                   "archive_unit"])
def test_backdated_ratings_after_closing_need_a_receipt_from_before(
        close, client, session, signer, visit, make_item):
    campaign, link, token = visit
    opened = ago(hours=3)
    with_receipt = make_item(token, created_at=ago(hours=2).isoformat(),
                             receipt=signer.sign_receipt(link.id, opened))
    if close == "revoke":
        revoke_link(session, link)
    elif close == "reissue":
        reissue_link(session, link)
    elif close == "close_by_hand":
        campaign.status = CampaignStatus.CLOSED
    elif close == "archive_unit":  # the unit leaves the form: its stale tokens stop too
        archive_unit(link.units[0])
    else:
        # Past its close date by the server's calendar, though nobody closed it by hand. The
        # receipt above (3 hours ago) may then be after the end of yesterday: use one from before.
        campaign.closes_on = date.today() - timedelta(days=1)
        with_receipt["receipt"] = signer.sign_receipt(link.id, ago(days=2))
        with_receipt["created_at"] = ago(days=2).isoformat()
    session.commit()
    code = {"revoke": "link_revoked", "reissue": "link_revoked",
            "archive_unit": "unit_archived"}.get(close, "campaign_closed")

    backdated = make_item(token, created_at=ago(days=4).isoformat())  # the hole, reproduced
    opened_after = make_item(token, receipt=signer.sign_receipt(link.id, ago(seconds=0)))
    results = post(client, [backdated, with_receipt, opened_after])

    assert (results[0]["status"], results[0]["code"]) == ("rejected", code)
    assert "没有表单回执" in results[0]["error"]
    assert results[1]["status"] == "stored"
    assert (results[2]["status"], results[2]["code"]) == ("rejected", code)
    assert "表单是在此之后打开的" in results[2]["error"]
    stored = rows(session)
    assert list(stored) == [with_receipt["id"]]
    assert stored[with_receipt["id"]].flags == ["late_upload"]
    assert stored[with_receipt["id"]].receipt_issued_at is not None


def test_expired_visit_link_keeps_ratings_made_while_it_was_valid(
        app, client, session, signer, make_campaign, make_link, make_item, monkeypatch):
    """The landed gap: an expired visit link stranded the ratings made while it was valid."""
    campaign = make_campaign()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 7200)  # the card was printed 2 hours ago
    link, token = make_link(campaign, ["ZF01"], channel=Channel.VISIT, visit_place="青山村",
                            max_age=3600)
    monkeypatch.setattr(time, "time", lambda: now)
    assert client.get(f"/s/{token}").status_code == 410  # the form no longer opens

    opened = ago(minutes=100)  # while the token was still valid (it expired 60 minutes ago)
    made_then = make_item(token, created_at=ago(minutes=90).isoformat(),
                          receipt=signer.sign_receipt(link.id, opened))
    backdated = make_item(token, created_at=ago(minutes=90).isoformat())
    opened_late = make_item(token, receipt=signer.sign_receipt(link.id, ago(minutes=30)))
    results = post(client, [made_then, backdated, opened_late])
    assert results[0]["status"] == "stored"
    assert [(r["status"], r["code"]) for r in results[1:]] == [("rejected", "link_expired")] * 2
    assert rows(session)[made_then["id"]].flags == ["late_upload"]


def test_late_uploads_end_with_the_grace_period(client, session, signer, visit, make_item):
    campaign, link, token = visit
    campaign.status = CampaignStatus.CLOSED
    session.commit()
    campaign.closed_at = ago(days=31)
    session.commit()
    item = make_item(token, created_at=ago(days=32).isoformat(),
                     receipt=signer.sign_receipt(link.id, ago(days=32)))
    (result,) = post(client, [item])
    assert (result["status"], result["code"]) == ("rejected", "campaign_closed")
    assert "30 天" in result["error"]


def test_an_old_receipt_cannot_vouch_for_a_rating_made_after_closing(
        client, session, signer, visit, make_item):
    """A receipt proves when the form was opened; a rating dated after the closing moment is
    new, whatever receipt it carries."""
    campaign, link, token = visit
    receipt = signer.sign_receipt(link.id, ago(days=3))
    revoke_link(session, link)
    link.revoked_at = ago(hours=1)
    session.commit()
    before, after = (make_item(token, created_at=ago(days=2).isoformat(), receipt=receipt),
                     make_item(token, created_at=ago(seconds=5).isoformat(), receipt=receipt))
    stored, refused = post(client, [before, after])
    assert stored["status"] == "stored"
    assert (refused["status"], refused["code"]) == ("rejected", "link_revoked")
    assert "填写时间在此之后" in refused["error"]
    assert list(rows(session)) == [before["id"]]


def test_forged_and_foreign_receipts_are_rejected(client, session, signer, visit, make_campaign,
                                                  make_link, make_item):
    campaign, link, token = visit
    other, _ = make_link(campaign, ["ZF02"], channel=Channel.VISIT, visit_place="青山村")
    genuine = signer.sign_receipt(link.id, ago(hours=3))
    revoke_link(session, link)
    session.commit()
    forged = LinkSigner(["not-our-key"]).sign_receipt(link.id, ago(hours=3))
    payload, _, signature = genuine.partition(".")
    tampered = signer.sign_receipt(link.id, ago(minutes=1)).split(".")[0] + "." + signature
    cases = {
        "forged": (forged, "receipt_invalid"),
        "tampered": (tampered, "receipt_invalid"),
        "truncated": (genuine[:-5], "receipt_invalid"),
        "a link token": (token, "receipt_invalid"),
        "another link's": (signer.sign_receipt(other.id, ago(hours=3)), "receipt_other_link"),
    }
    items = [make_item(token, created_at=ago(hours=2).isoformat(), receipt=r)
             for r, _ in cases.values()]
    results = post(client, items)
    assert [(r["status"], r["code"]) for r in results] == [("rejected", c)
                                                           for _, c in cases.values()]
    assert rows(session) == {}
    # The genuine one goes through, so the refusals above were about the receipts.
    good = make_item(token, created_at=ago(hours=2).isoformat(), receipt=genuine)
    assert post(client, [good])[0]["status"] == "stored"


def test_a_foreign_receipt_is_refused_on_an_open_link_too(client, session, signer, visit,
                                                          make_link, make_item):
    campaign, link, token = visit
    other, _ = make_link(campaign, ["ZF02"])
    item = make_item(token, receipt=signer.sign_receipt(other.id))
    assert post(client, [item])[0]["code"] == "receipt_other_link"


def test_times_from_the_future_or_before_the_receipt_are_rejected(client, session, signer, visit,
                                                                  make_item):
    _, link, token = visit
    receipt = signer.sign_receipt(link.id, ago(hours=1))
    items = [
        make_item(token, created_at="2100-12-31T12:00:00+08:00"),  # grew the chart to 2.7 MB
        make_item(token, created_at=(ago(minutes=-11)).isoformat()),
        make_item(token, created_at=(ago(minutes=-5)).isoformat()),  # a clock a bit fast: fine
        make_item(token, created_at=ago(hours=2).isoformat(), receipt=receipt),
        make_item(token, created_at=ago(minutes=65).isoformat(), receipt=receipt),  # skew
    ]
    results = post(client, items)
    assert [(r["status"], r.get("code")) for r in results] == [
        ("rejected", "future_time"), ("rejected", "future_time"), ("stored", None),
        ("rejected", "before_receipt"), ("stored", None)]
    assert "手机的日期和时间" in results[0]["error"]
    stored = rows(session)
    assert stored[items[4]["id"]].flags == []  # on time: not a late upload
    assert stored[items[4]["id"]].receipt_issued_at == \
        signer.verify_receipt(receipt).issued_at


@pytest.mark.parametrize("close", ["revoke", "archive_unit"])
def test_no_js_form_sent_after_revocation_counts_with_its_receipt(close, client, session, visit):
    _, link, token = visit
    html = client.get(f"/s/{token}").get_data(as_text=True)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))
    form = {"a.efficiency": "satisfied", "a.attitude": "satisfied", "a.competence": "satisfied",
            "a.conduct": "satisfied", "a.integrity": "satisfied", "identity": "enterprise",
            "unit": "ZF01", **hidden}
    if close == "revoke":
        revoke_link(session, link)  # the office reprints the card while the page is open
    else:
        archive_unit(link.units[0])  # the unit leaves the campaign while the page is open
    session.commit()

    without = client.post(f"/s/{token}", data={**form, "receipt": "",
                                                "response_id": "9a1c2f0e-0b7c-4c53-8a2d-1f6e2d7b0c11"})
    assert without.status_code == 410
    assert "没有表单回执" in without.get_data(as_text=True)
    reply = client.post(f"/s/{token}", data=form)
    assert "您的评议已提交成功" in reply.get_data(as_text=True)
    (row,) = rows(session).values()
    assert row.uuid == hidden["response_id"] and row.flags == ["late_upload"]
