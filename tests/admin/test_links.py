"""Visits and links: per-unit and per-visit links with full URLs; revoke and reissue."""

from __future__ import annotations

import re
from datetime import date

from sync.models import Channel, Link, Visit

from .conftest import csrf_from


def test_poster_link_per_unit_with_full_urls(admin_client, post_form, client, make_campaign,
                                             session):
    campaign = make_campaign()
    page = f"/admin/campaigns/{campaign.id}/links"
    assert post_form(page, f"{page}/posters").status_code == 302
    links = session.query(Link).filter_by(campaign_id=campaign.id).all()
    assert sorted(link.units[0].code for link in links) == ["ZF01", "ZF02", "ZZ01"]
    assert all(link.channel == Channel.ONLINE and len(link.units) == 1 for link in links)
    # a second click issues nothing new
    assert post_form(page, f"{page}/posters").status_code == 302
    assert session.query(Link).count() == 3

    text = admin_client.get(page).get_data(as_text=True)
    urls = re.findall(r'href="(http://testserver/s/[^"]+)"', text)
    assert len(set(urls)) == 3
    for url in set(urls):  # every URL shown opens its form
        assert client.get(url.removeprefix("http://testserver")).status_code == 200


def test_visit_and_visit_link(admin_client, post_form, client, make_campaign, session):
    campaign = make_campaign()
    page = f"/admin/campaigns/{campaign.id}/links"
    reply = post_form(page, f"/admin/campaigns/{campaign.id}/visits", {
        "place": "红星村", "staff_name": "李明", "visit_date": "2026-03-12"})
    assert reply.status_code == 302
    visit = session.query(Visit).one()
    assert (visit.place, visit.staff_name, visit.visit_date) == ("红星村", "李明", date(2026, 3, 12))
    unit_ids = [u.id for u in campaign.units[:2]]
    reply = post_form(page, page, {"unit_ids": unit_ids, "channel": "visit", "visit_id": visit.id})
    assert reply.status_code == 302
    link = session.query(Link).one()
    assert link.visit_id == visit.id and link.purpose == "visit"
    assert sorted(u.id for u in link.units) == sorted(unit_ids)
    text = admin_client.get(page).get_data(as_text=True)
    assert "红星村" in text and "入户访谈" in text

    reply = post_form(page, page, {"channel": "online", "visit_id": 0})
    assert reply.status_code == 422 and "请至少选择一个评议对象" in reply.get_data(as_text=True)
    reply = post_form(page, f"/admin/campaigns/{campaign.id}/visits", {"place": ""})
    assert reply.status_code == 422 and "请填写走访地点" in reply.get_data(as_text=True)


def test_units_of_another_campaign_cannot_be_linked(admin_client, post_form, make_campaign,
                                                    session):
    campaign = make_campaign()
    other = make_campaign(title="另一活动")
    page = f"/admin/campaigns/{campaign.id}/links"
    reply = post_form(page, page, {"unit_ids": [other.units[0].id], "channel": "online",
                                   "visit_id": 0})
    assert reply.status_code == 422
    assert session.query(Link).count() == 0


def test_revoke_and_reissue(admin_client, post_form, client, make_campaign, make_link, session):
    campaign = make_campaign()
    link, token = make_link(campaign)
    page = f"/admin/campaigns/{campaign.id}/links"
    assert client.get(f"/s/{token}").status_code == 200

    assert post_form(page, f"/admin/links/{link.id}/reissue").status_code == 302
    session.expire_all()
    assert link.is_revoked and link.replaced_by_id is not None
    new = session.get(Link, link.replaced_by_id)
    assert [u.code for u in new.units] == [u.code for u in link.units]
    old_page = client.get(f"/s/{token}")
    assert old_page.status_code in (403, 410) and "链接" in old_page.get_data(as_text=True)
    text = admin_client.get(page).get_data(as_text=True)
    assert "已撤销" in text and f"由 {new.id} 号替换" in text

    from collector.links import form_url
    new_url = form_url(new)
    assert new_url in text
    assert client.get(new_url.removeprefix("http://testserver")).status_code == 200

    assert post_form(page, f"/admin/links/{new.id}/revoke").status_code == 302
    session.expire_all()
    assert new.is_revoked
    assert client.get(new_url.removeprefix("http://testserver")).status_code in (403, 410)
    # reissuing a revoked link is refused politely
    reply = post_form(page, f"/admin/links/{new.id}/reissue", follow_redirects=True)
    assert "请在有效链接上操作" in reply.get_data(as_text=True)
    assert admin_client.post("/admin/links/99999/revoke",
                             data={"csrf_token": csrf_from(admin_client, page)}).status_code == 404
