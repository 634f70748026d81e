"""Signed links: each way a link can be bad is refused with its own reason."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from collector import create_app
from collector.extensions import db
from qr.links import (
    LinkClaims,
    LinkExpired,
    LinkMalformed,
    LinkPurpose,
    LinkRevoked,
    LinkSigner,
    LinkTampered,
)
from sync.links import reissue_link, revoke_link, sign_link
from sync.models import CampaignStatus, Channel

CLAIMS = LinkClaims(link_id=7, campaign_id=3, purpose=LinkPurpose.POSTER, channel="online",
                    unit_codes=("ZF01",))


def test_round_trip_and_purpose_salts():
    signer = LinkSigner(["k1"])
    token = signer.sign(CLAIMS)
    assert signer.verify(token, LinkPurpose.POSTER) == CLAIMS
    assert signer.verify_any(token) == CLAIMS
    # A poster token can never be replayed as a visit token.
    with pytest.raises(LinkTampered):
        signer.verify(token, LinkPurpose.VISIT)


def _flip_signature_char(token: str) -> str:
    """Change the signature's first character: it carries six bits of the signature, where the
    last carries only four (changing its two padding bits, e.g. A to B, decodes to the same
    signature, so the token is still genuine)."""
    at = token.rindex(".") + 1
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]


@pytest.mark.parametrize(("mangle", "error"), [
    (_flip_signature_char, LinkTampered),
    (lambda t: "eyJsIjo5OTksImMiOjMsImNoIjoib25saW5lIiwidSI6WyJaRjAxIl19" + t[t.index("."):],
     LinkTampered),
    (lambda t: t[: t.rindex(".") + 5], LinkMalformed),
    (lambda t: t[: t.index(".")], LinkMalformed),
    (lambda t: "", LinkMalformed),
])
def test_tampered_and_truncated_tokens(mangle, error):
    signer = LinkSigner(["k1"])
    with pytest.raises(error):
        signer.verify(mangle(signer.sign(CLAIMS)), LinkPurpose.POSTER)


def test_expired_token(monkeypatch):
    signer = LinkSigner(["k1"])
    claims = LinkClaims(7, 3, LinkPurpose.POSTER, "online", ("ZF01",), max_age=3600)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 7200)  # signed two hours ago
    token = signer.sign(claims)
    monkeypatch.setattr(time, "time", lambda: now)
    with pytest.raises(LinkExpired):
        signer.verify(token, LinkPurpose.POSTER)
    fresh = signer.sign(claims)
    assert signer.verify(fresh, LinkPurpose.POSTER).max_age == 3600


def test_rotated_keys_old_verify_newest_signs():
    old = LinkSigner(["k-2025"]).sign(CLAIMS)
    rotated = LinkSigner(["k-2025", "k-2026"])
    assert rotated.verify(old, LinkPurpose.POSTER) == CLAIMS
    new = rotated.sign(CLAIMS)
    assert LinkSigner(["k-2026"]).verify(new, LinkPurpose.POSTER) == CLAIMS
    with pytest.raises(LinkTampered):
        LinkSigner(["k-2025"]).verify(new, LinkPurpose.POSTER)
    # Once the old key is dropped from the list, its links stop working.
    with pytest.raises(LinkTampered):
        LinkSigner(["k-2026"]).verify(old, LinkPurpose.POSTER)


def test_revoked_by_link_id():
    signer = LinkSigner(["k1"])
    token = signer.sign(CLAIMS)
    with pytest.raises(LinkRevoked):
        signer.verify(token, LinkPurpose.POSTER, is_revoked=lambda link_id: link_id == 7)


def _get(client, token):  # type: ignore[no-untyped-def]
    page = client.get(f"/s/{token}")
    api = client.get(f"/api/v1/forms/{token}")
    return page, api


def assert_refused(client, token, status, code, words):  # type: ignore[no-untyped-def]
    page, api = _get(client, token)
    assert page.status_code == status
    assert words in page.get_data(as_text=True)
    assert api.status_code == status
    assert api.json["code"] == code
    assert words in api.json["error"]


def test_form_page_refusals(app, client, session, make_campaign, make_link):
    campaign = make_campaign()
    link, token = make_link(campaign)
    assert client.get(f"/s/{token}").status_code == 200

    assert_refused(client, token[:-3] + "abc", 403, "link_tampered", "篡改")
    assert_refused(client, token[: token.rindex(".") + 4], 400, "link_malformed", "不完整")

    revoke_link(session, link)
    session.commit()
    assert_refused(client, token, 410, "link_revoked", "停用")

    replacement = reissue_link(session, link)
    session.commit()
    assert client.get(f"/s/{sign_link(app.extensions['link_signer'], replacement)}") \
        .status_code == 200


def test_expired_link_page(app, client, make_campaign, make_link, monkeypatch):
    campaign = make_campaign()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 100_000)
    _, token = make_link(campaign, max_age=3600)
    monkeypatch.setattr(time, "time", lambda: now)
    assert_refused(client, token, 410, "link_expired", "过期")


def test_unknown_and_closed_campaigns(app, client, session, make_campaign, make_link):
    campaign = make_campaign()
    link, token = make_link(campaign)
    forged = LinkClaims(link.id, campaign.id + 100, LinkPurpose.POSTER, "online", ("ZF01",))
    assert_refused(client, app.extensions["link_signer"].sign(forged), 404, "campaign_unknown",
                   "未找到")

    campaign.status = CampaignStatus.CLOSED
    session.commit()
    assert_refused(client, token, 410, "campaign_closed", "已结束")

    campaign.status = CampaignStatus.OPEN
    campaign.closes_on = date.today() - timedelta(days=1)
    campaign.opens_on = date.today() - timedelta(days=5)
    session.commit()
    assert_refused(client, token, 410, "campaign_closed", "已结束")

    campaign.closes_on = None
    campaign.opens_on = date.today() + timedelta(days=3)
    session.commit()
    assert_refused(client, token, 403, "campaign_not_open", "尚未开始")


def _status_with_keys(database_url, token, secret, fallbacks):  # type: ignore[no-untyped-def]
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                        "SECRET_KEY": secret, "SECRET_KEY_FALLBACKS": fallbacks})
    status = other.test_client().get(f"/s/{token}").status_code
    with other.app_context():
        db.engine.dispose()
    return status


def test_key_rotation_through_config(database_url, make_campaign, make_link, app):
    campaign = make_campaign()
    _, old_token = make_link(campaign)  # signed with "test-secret"
    assert _status_with_keys(database_url, old_token, "new-secret", ["test-secret"]) == 200
    assert _status_with_keys(database_url, old_token, "new-secret", []) == 403


def test_visit_link_names_its_units_and_visit(app, client, make_campaign, make_link):
    campaign = make_campaign()
    link, token = make_link(campaign, codes=["ZF01", "ZF02"], channel=Channel.VISIT,
                            visit_place="红星村")
    claims = app.extensions["link_signer"].verify(token, LinkPurpose.VISIT)
    assert claims.unit_codes == ("ZF01", "ZF02")
    assert claims.visit_id == link.visit_id
    assert claims.channel == "visit"
    assert client.get(f"/api/v1/forms/{token}").json["visit"]["place"] == "红星村"
