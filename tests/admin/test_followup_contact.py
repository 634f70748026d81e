"""Call-back phones (实名回访): kept apart, shown only to the owner unit and admins."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from collector.extensions import db
from sync.audit import AuditEntry
from sync.exports.files import prune_exports
from sync.exports.jobs import run_next
from sync.exports.models import ExportChunk, ExportJob
from sync.followups.models import ResponseContact
from sync.models import Conflict, FollowUp, Response, Role, utcnow

from .conftest import csrf_from

PHONE = "13912345678"


@pytest.fixture
def called(client, make_campaign, make_link, make_item, make_user, session):  # type: ignore[no-untyped-def]
    """A ZF02 comment with a phone, handed by the admin to ZZ01; secretaries of all three."""
    campaign = make_campaign()
    _, token = make_link(campaign, codes=["ZF02"])
    item = make_item(token, comment="社保卡补办要跑三次", contact="139 1234 5678")
    reply = client.post("/api/v1/sync", json={"responses": [item]})
    assert reply.json["results"][0]["status"] == "stored"
    units = {u.code: u for u in campaign.units}
    make_user("admin")
    make_user("zf01", Role.SECRETARY, units=[units["ZF01"]])
    make_user("zf02", Role.SECRETARY, units=[units["ZF02"]])
    make_user("zz01", Role.SECRETARY, units=[units["ZZ01"]])
    response = session.scalar(select(Response))
    follow_up = session.scalar(select(FollowUp))
    follow_up.owner_unit_id = units["ZZ01"].id
    session.commit()
    return {"campaign": campaign, "response": response, "item": item, "token": token}


def test_phone_is_stored_apart_from_the_rating(called, session, client, make_item):
    response = called["response"]
    assert session.scalar(select(ResponseContact.phone)) == PHONE  # normalised
    row = session.execute(text("SELECT * FROM responses")).mappings().one()
    assert PHONE not in json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False)
    assert "contact" not in (response.meta or {})
    # a conflicting resend keeps its payload for review, but never the phone
    changed = dict(called["item"], comment="改过", contact="13800001111")
    reply = client.post("/api/v1/sync", json={"responses": [changed]})
    assert reply.json["results"][0]["status"] == "conflict"
    payload = session.scalar(select(Conflict.payload))
    assert "contact" not in payload and "13800001111" not in json.dumps(payload)
    assert session.scalar(select(ResponseContact.phone)) == PHONE


@pytest.mark.parametrize("given, stored", [
    ("0791-83869993", "0791-83869993"), ("(010) 12345678", "010-12345678"),
    ("+86 139-1234-5678", PHONE), ("", None), (None, None)])
def test_phone_formats(client, make_campaign, make_link, make_item, session, given, stored):
    _, token = make_link(make_campaign())
    item = make_item(token, contact=given)
    assert client.post("/api/v1/sync", json={"responses": [item]}).json["results"][0][
        "status"] == "stored"
    assert session.scalar(select(ResponseContact.phone)) == stored


@pytest.mark.parametrize("bad", ["12345", "23912345678", "1391234567x", "010-123", "1" * 31, 139])
def test_bad_phone_is_refused_precisely(client, make_campaign, make_link, make_item, session,
                                        bad):
    _, token = make_link(make_campaign())
    result = client.post("/api/v1/sync", json={"responses": [make_item(token, contact=bad)]}) \
        .json["results"][0]
    assert result["status"] == "rejected" and "contact" in result["error"]
    assert ("手机号" in result["error"]) or ("字符串" in result["error"])
    assert session.scalar(select(Response.id)) is None


def test_only_the_owner_unit_and_admins_see_the_phone(called, client, login):
    page = f"/admin/followups/{called['response'].id}"
    login("zz01")  # the owner unit
    assert PHONE in client.get(page).get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("zf02")  # the rated unit may follow the comment, but the phone went with the handover
    text = client.get(page).get_data(as_text=True)
    assert "社保卡补办要跑三次" in text and PHONE not in text and "139" not in text
    assert PHONE not in client.get("/admin/followups").get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("zf01")  # another unit: not even the follow-up
    assert client.get(page).status_code == 404
    assert PHONE not in client.get("/").get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("admin")
    assert PHONE in client.get(page).get_data(as_text=True)


def test_exports_leave_the_phone_out_unless_an_admin_asks(called, client, login, session):
    campaign = called["campaign"]
    login("admin")
    for url in (f"/admin/campaigns/{campaign.id}/export.csv?table=responses",
                f"/admin/followups/export.csv?campaign={campaign.id}",
                f"/admin/campaigns/{campaign.id}/results",
                f"/admin/campaigns/{campaign.id}/export.csv?table=tallies"):
        reply = client.get(url)
        assert reply.status_code == 200, url
        assert PHONE not in reply.get_data(as_text=True), url
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.export")) is None
    reply = client.get(f"/admin/followups/export.csv?campaign={campaign.id}&contact=1")
    body = reply.get_data(as_text=True)
    assert "联系电话" in body and PHONE in body
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.export"))
    assert entry.actor_name == "admin" and entry.campaign_id == campaign.id


def test_form_offers_the_field_and_says_who_sees_it(client, make_campaign, make_link, session):
    _, token = make_link(make_campaign())
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert re.search(r'<input type="tel" name="contact"', page)
    assert "电话只给被评议单位联络员和管理员用于回访" in page
    # the no-JavaScript form carries it too
    data = {f"a.{k}": "satisfied" for k in
            ("efficiency", "attitude", "competence", "conduct", "integrity")}
    data.update(identity="enterprise", comment="好", contact="13700001111")
    assert client.post(f"/s/{token}", data=data).status_code == 200
    assert session.scalar(select(ResponseContact.phone)) == "13700001111"


def test_the_ledger_with_phones_is_an_admins_audited_short_lived_file(called, client, login,
                                                                      session):
    campaign = called["campaign"]
    ledger = f"/admin/followups?campaign={campaign.id}"
    url = f"/admin/followups/export.xlsx?campaign={campaign.id}&contact=1"
    login("zz01")  # the unit the follow-up was handed to: no phone numbers in a file
    assert client.post(url, data={"csrf_token": csrf_from(client, ledger)}).status_code == 403
    login("admin")
    assert "文件保留 24 小时" in client.get(ledger).get_data(as_text=True)
    reply = client.post(url, data={"csrf_token": csrf_from(client, ledger)})
    assert reply.status_code == 303
    job_url = reply.headers["Location"]
    job = session.scalar(select(ExportJob))
    assert job.personal and job.kind == "ledger" and job.unit_ids is None
    audited = select(AuditEntry).where(AuditEntry.action == "contact.export")
    (asked,) = session.scalars(audited).all()
    assert asked.actor_name == "admin" and asked.after["job"] == job.id
    assert run_next(db.engine) == job.id
    session.rollback()  # see what the runner committed
    page = client.get(job_url).get_data(as_text=True)
    assert "整改台账（含联系电话）" in page and "保留 24 小时" in page
    reply = client.get(f"{job_url}/download")
    header, *rows = load_workbook(io.BytesIO(reply.get_data())).active.iter_rows(
        values_only=True)
    assert header[-1] == "联系电话" and [r[-1] for r in rows] == [PHONE]
    # every download is on record, beside the request
    assert [e.after.get("download") for e in session.scalars(audited)] == [None, True]
    # no secretary ever sees the job, not even of the unit that holds the follow-up
    login("zz01")
    assert client.get(job_url).status_code == 404
    assert client.get(f"{job_url}/download").status_code == 404
    # a day later the file is gone from the database
    assert prune_exports(session, timedelta(days=7), timedelta(hours=24),
                         utcnow() + timedelta(hours=25)) == 1
    assert session.scalar(select(ExportChunk.job_id)) is None
    login("admin")
    assert client.get(f"{job_url}/download").status_code == 410
    assert "文件已过期，请重新导出。" in client.get(job_url).get_data(as_text=True)
