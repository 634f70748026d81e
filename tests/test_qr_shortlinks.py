"""GET /q/<code>: the short link under every QR code."""

from __future__ import annotations

from qr_helpers import open_scanned

from sync.links import reissue_link, revoke_link


def _signed_link_id(app, location: str) -> int:
    """The link id inside the signed token a redirect points at (tokens carry a timestamp)."""
    prefix = "http://testserver/s/"
    assert location.startswith(prefix)
    return app.extensions["link_signer"].verify_any(location[len(prefix):]).link_id


def test_short_code_redirects_to_the_units_form(app, client, make_campaign, make_link):
    campaign = make_campaign()
    link, _ = make_link(campaign, codes=["ZF02"])
    reply = client.get(f"/q/{link.short_code}")
    assert reply.status_code == 302
    assert _signed_link_id(app, reply.headers["Location"]) == link.id
    assert reply.headers["Cache-Control"] == "no-store"
    form = open_scanned(client, f"http://testserver/q/{link.short_code}")
    assert form.status_code == 200
    assert "人社局" in form.get_data(as_text=True)


def test_short_code_is_case_insensitive(app, client, make_campaign, make_link):
    link, _ = make_link(make_campaign())
    reply = client.get(f"/q/{link.short_code.lower()}")
    assert reply.status_code == 302
    assert _signed_link_id(app, reply.headers["Location"]) == link.id


def test_revoked_short_code_answers_the_revoked_page(client, session, make_campaign, make_link):
    link, _ = make_link(make_campaign())
    revoke_link(session, link)
    session.commit()
    reply = client.get(f"/q/{link.short_code}")
    assert reply.status_code == 410
    assert "Location" not in reply.headers
    assert "已停用" in reply.get_data(as_text=True)


def test_reissued_link_gets_a_new_code_and_the_old_one_stops(client, session, make_campaign,
                                                             make_link):
    old, _ = make_link(make_campaign())
    new = reissue_link(session, old)
    session.commit()
    assert new.short_code != old.short_code
    assert client.get(f"/q/{old.short_code}").status_code == 410
    assert open_scanned(client, f"http://testserver/q/{new.short_code}").status_code == 200


def test_unknown_short_code_answers_a_chinese_404(client, make_campaign):
    make_campaign()
    for code in ("ZZZZZZ", "x" * 300, "%E4%B8%AD"):
        reply = client.get(f"/q/{code}")
        assert reply.status_code == 404
        assert "未找到该二维码对应的评议" in reply.get_data(as_text=True)
