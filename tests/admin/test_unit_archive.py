"""Deleting unused units and categories, archiving and restoring units with ratings."""

from __future__ import annotations

import threading

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from collector.extensions import db
from sync.audit import AuditEntry
from sync.campaigns import SetupError
from sync.db import write_transaction
from sync.exports.responses import responses_table
from sync.link_cache import ConfigVersion
from sync.links import issue_link
from sync.merge import merge_batch
from sync.models import Campaign, Category, Response, Role, Unit, link_units
from sync.posters import poster_links
from sync.reports import campaign_tally
from sync.unit_archive import delete_unit


def _units_page(campaign) -> str:  # type: ignore[no-untyped-def]
    return f"/admin/campaigns/{campaign.id}/units"


def _actions(session, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _version(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(ConfigVersion.value)) or 0


def _rate(app, session, token: str, make_item, code: str, n: int = 1) -> None:  # type: ignore[no-untyped-def]
    for k in range(n):
        merge_batch(session, app.extensions["link_signer"],
                    {"device_id": f"dev-{code}-{k}", "responses": [make_item(token, unit=code)]})


def test_delete_an_unused_unit_and_empty_category(admin_client, post_form, make_campaign,
                                                  session):
    campaign = make_campaign(units={"政府工作部门": [("ZF01", "市场监管局"), ("ZF02", "人社局")],
                                    "中直单位": [("ZZ01", "税务局")]})
    unit = next(u for u in campaign.units if u.code == "ZF02")
    unit_id, version = unit.id, _version(session)
    page = _units_page(campaign)
    assert "删除" in admin_client.get(page).get_data(as_text=True)
    reply = post_form(page, f"/admin/units/{unit_id}/delete", follow_redirects=True)
    assert reply.status_code == 200 and "已删除评议对象“人社局”" in reply.get_data(as_text=True)
    session.expire_all()
    assert session.get(Unit, unit_id) is None
    assert _version(session) > version  # phones' cached link data is refreshed
    (entry,) = _actions(session, "unit.delete")
    assert entry.target_id == str(unit_id) and entry.before["code"] == "ZF02"
    assert entry.after is None and entry.actor_name == "admin"

    # a category with a unit is refused; once empty it can go
    category = session.scalars(select(Category).filter_by(name="中直单位")).one()
    url = f"/admin/campaigns/{campaign.id}/categories/{category.id}/delete"
    reply = post_form(page, url, follow_redirects=True)
    assert "类别“中直单位”下还有评议对象" in reply.get_data(as_text=True)
    session.expire_all()
    assert session.get(Category, category.id) is not None
    assert _actions(session, "category.delete") == []
    zz01 = category.units[0].id
    assert post_form(page, f"/admin/units/{zz01}/delete").status_code == 303
    reply = post_form(page, url, follow_redirects=True)
    assert "已删除类别“中直单位”" in reply.get_data(as_text=True)
    session.expire_all()
    assert session.get(Category, category.id) is None
    (entry,) = _actions(session, "category.delete")
    assert entry.before["name"] == "中直单位" and entry.campaign_id == campaign.id


def test_a_unit_with_ratings_or_links_is_not_deleted(app, admin_client, post_form, make_campaign,
                                                     make_link, make_item, session):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    _rate(app, session, token, make_item, "ZF01")
    rated = next(u for u in campaign.units if u.code == "ZF01")
    page = _units_page(campaign)
    reply = post_form(page, f"/admin/units/{rated.id}/delete", follow_redirects=True)
    assert "“市场监管局”已有评议结果、链接或其他记录，不能删除；可以改为归档" in \
        reply.get_data(as_text=True)
    # only a link (no rating): the link row would cascade away silently, so it refuses too
    make_link(campaign, ["ZF02"])
    linked = next(u for u in campaign.units if u.code == "ZF02")
    reply = post_form(page, f"/admin/units/{linked.id}/delete", follow_redirects=True)
    assert "“人社局”已有评议结果" in reply.get_data(as_text=True)
    session.expire_all()
    assert session.get(Unit, rated.id) is not None and session.get(Unit, linked.id) is not None
    assert session.scalar(select(Response.id).where(Response.unit_id == rated.id)) is not None
    assert session.scalar(select(link_units.c.link_id).where(link_units.c.unit_id == linked.id))
    assert _actions(session, "unit.delete") == []


def test_archive_hides_a_unit_and_restore_brings_it_back(app, admin_client, post_form, client,
                                                         make_campaign, make_link, make_item,
                                                         session):
    campaign = make_campaign(units={"政府工作部门": [("ZF01", "市场监管局"), ("ZF02", "人社局")]})
    _, token = make_link(campaign, ["ZF01", "ZF02"])
    _rate(app, session, token, make_item, "ZF01", 2)
    _rate(app, session, token, make_item, "ZF02", 1)
    _, lone = make_link(campaign, ["ZF01"])  # a poster link for ZF01 alone
    assert client.get(f"/api/v1/forms/{lone}").status_code == 200
    unit = next(u for u in campaign.units if u.code == "ZF01")
    unit_id = unit.id
    page = _units_page(campaign)
    assert campaign_tally(session, campaign).unit(unit_id).rank == 1

    links_page = f"/admin/campaigns/{campaign.id}/links"
    choice = f'name="unit_ids" value="{unit_id}"'
    assert choice in admin_client.get(links_page).get_data(as_text=True)

    version = _version(session)
    reply = post_form(page, f"/admin/units/{unit_id}/archive", follow_redirects=True)
    text = reply.get_data(as_text=True)
    assert "已归档评议对象“市场监管局”" in text and "取消归档" in text
    session.expire_all()
    assert session.get(Unit, unit_id).archived_at is not None
    assert _version(session) > version
    (entry,) = _actions(session, "unit.archive")
    assert entry.before["archived_at"] is None and entry.after["archived_at"]

    # rankings: the other unit now stands alone, first of one
    tally = campaign_tally(session, campaign)
    assert tally.unit(unit_id) is None
    assert [(u.code, u.rank, u.ranked_in_category) for u in tally.units()] == [("ZF02", 1, 1)]
    # new links: not a choice, and a forged choice is refused
    assert choice not in admin_client.get(links_page).get_data(as_text=True)
    reply = post_form(links_page, f"/admin/campaigns/{campaign.id}/links",
                      {"unit_ids": [str(unit_id)], "channel": "online", "visit_id": "0"})
    assert reply.status_code == 422
    # posters: none for it
    assert [u.code for u, _ in poster_links(session, campaign)] == ["ZF02"]
    session.rollback()
    # the form a phone opens lists only the active unit
    definition = client.get(f"/api/v1/forms/{token}").json
    assert [u["code"] for u in definition["units"]] == ["ZF02"]
    # ...and its own poster link no longer opens a form, with a message a visitor can act on
    reply = client.get(f"/api/v1/forms/{lone}")
    assert reply.status_code in (400, 410) and "评议对象已调整" in str(reply.json)
    # the raw export keeps every rating
    codes = [row[2] for row in responses_table(session, campaign).rows]
    assert sorted(codes) == ["ZF01", "ZF01", "ZF02"]

    reply = post_form(page, f"/admin/units/{unit_id}/restore", follow_redirects=True)
    assert "已取消归档评议对象“市场监管局”" in reply.get_data(as_text=True)
    session.expire_all()
    assert session.get(Unit, unit_id).archived_at is None
    assert len(_actions(session, "unit.restore")) == 1
    assert campaign_tally(session, campaign).unit(unit_id).rank == 1
    assert choice in admin_client.get(links_page).get_data(as_text=True)
    definition = client.get(f"/api/v1/forms/{token}").json
    assert [u["code"] for u in definition["units"]] == ["ZF01", "ZF02"]
    assert client.get(f"/api/v1/forms/{lone}").status_code == 200


def test_archive_a_category_with_its_units(admin_client, post_form, make_campaign, session):
    campaign = make_campaign()
    category = session.scalars(select(Category).filter_by(name="政府工作部门")).one()
    lone = next(u for u in category.units if u.code == "ZF02")
    page = _units_page(campaign)
    post_form(page, f"/admin/units/{lone.id}/archive")  # archived on its own, earlier
    base = f"/admin/campaigns/{campaign.id}/categories/{category.id}"
    assert post_form(page, f"{base}/archive").status_code == 303
    session.expire_all()
    assert all(u.archived_at is not None for u in category.units)
    assert [c.name for c in campaign_tally(session, campaign).categories] == ["中直单位"]
    # a unit cannot come back while its category is archived
    zf01 = next(u for u in category.units if u.code == "ZF01")
    reply = post_form(page, f"/admin/units/{zf01.id}/restore", follow_redirects=True)
    assert "类别“政府工作部门”已归档，请先取消归档该类别" in reply.get_data(as_text=True)
    assert post_form(page, f"{base}/restore").status_code == 303
    session.expire_all()
    # the category's own archive is undone; the unit archived on its own stays archived
    assert {u.code: u.archived_at is None for u in category.units} == {"ZF01": True,
                                                                        "ZF02": False}
    assert len(_actions(session, "category.archive")) == 1
    assert len(_actions(session, "category.restore")) == 1


def test_secretaries_cannot_delete_or_archive(client, make_user, login, make_campaign, session):
    campaign = make_campaign()
    unit = campaign.units[0]
    category = campaign.categories[0]
    make_user("zf01", Role.SECRETARY, units=[unit])
    assert login("zf01").status_code == 302
    token = _csrf(client)
    for verb in ("delete", "archive", "restore"):
        assert client.post(f"/admin/units/{unit.id}/{verb}",
                           data={"csrf_token": token}).status_code == 403
        assert client.post(f"/admin/campaigns/{campaign.id}/categories/{category.id}/{verb}",
                           data={"csrf_token": token}).status_code == 403
    session.expire_all()
    assert session.get(Unit, unit.id).archived_at is None
    assert session.scalars(select(AuditEntry).where(AuditEntry.action.like("unit.%"))).all() == []


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    from .conftest import TOKEN_RE

    for url in ("/admin/", "/admin"):
        match = TOKEN_RE.search(client.get(url, follow_redirects=True).get_data(as_text=True))
        if match:
            return match.group(1)
    raise AssertionError("no CSRF token on the secretary's home page")


def test_a_link_issued_during_a_delete_is_never_cascaded_away(app, make_campaign, session):
    """The writer holds a link for the unit, uncommitted; the delete must wait, then refuse."""
    campaign = make_campaign()
    unit_id = next(u.id for u in campaign.units if u.code == "ZF02")
    campaign_id = campaign.id
    engine = db.engine
    writer, deleter = Session(engine), Session(engine)
    outcome: list[BaseException | None] = []

    def delete() -> None:
        try:
            with write_transaction(deleter):
                delete_unit(deleter, deleter.get(Unit, unit_id))
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - judged below
            outcome.append(exc)

    try:
        issue_link(writer, writer.get(Campaign, campaign_id), [writer.get(Unit, unit_id)])
        writer.flush()  # the link row exists, uncommitted, holding its locks
        thread = threading.Thread(target=delete)
        thread.start()
        if engine.dialect.name == "postgresql":  # wait until the delete really waits on it
            for _ in range(500):
                with engine.connect() as probe:
                    if probe.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                         "WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()")):
                        break
                threading.Event().wait(0.01)
            else:
                raise AssertionError("the delete never waited for the link's transaction")
        writer.commit()
        thread.join()
    finally:
        writer.close()
        deleter.close()
    assert len(outcome) == 1 and isinstance(outcome[0], SetupError), outcome
    session.rollback()  # a fresh snapshot: see what the two sessions committed
    assert session.get(Unit, unit_id) is not None
    assert session.scalar(select(link_units.c.link_id).where(link_units.c.unit_id == unit_id))
