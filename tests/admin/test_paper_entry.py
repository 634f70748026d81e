"""Paper questionnaires keyed in by staff: the same merge, a sheet keyed twice never counts twice."""

from __future__ import annotations

from sqlalchemy import select

from collector.links import signer
from qr.links import LinkSigner
from sync.audit import AuditEntry
from sync.followups.models import PaperEntry
from sync.followups.paper import sheet_uuid, sheet_uuids
from sync.models import Channel, Conflict, FollowUp, Response, Role

from .conftest import csrf_from


def _key(client, campaign, sheet, digits="11111", unit="ZF01", identity="1", comment="",
         mode="single", pass_no=1):  # type: ignore[no-untyped-def]
    page = f"/admin/campaigns/{campaign.id}/paper?mode={mode}&pass={pass_no}"
    return client.post(page, data={
        "sheet_no": sheet, "unit": unit, "digits": digits, "identity": identity,
        "comment": comment, "mode": mode, "pass": pass_no, "csrf_token": csrf_from(client, page)})


def test_sheet_keyed_twice_is_caught(admin_client, make_campaign, session):
    client = admin_client
    campaign = make_campaign()
    reply = _key(client, campaign, "A-001", "12311", comment="窗口少")
    assert reply.status_code == 302 and "unit=ZF01" in reply.headers["Location"]
    response = session.scalar(select(Response))
    assert response.uuid == sheet_uuids(signer(), campaign.id, "A-001")[0]
    assert response.channel == Channel.SURVEY and response.meta["sheet_no"] == "A-001"
    assert response.meta["keyed_by"] == "admin" and response.comment == "窗口少"
    assert session.scalar(select(FollowUp.response_id)) == response.id  # a comment: opened
    levels = sorted(a.score for a in response.answers)
    assert levels == [0, 60, 100, 100, 100]

    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "问卷 A-001：已保存" in page and 'value="ZF01"' in page  # next blank form, unit kept

    again = _key(client, campaign, "a-001", "12311", comment="窗口少")  # same sheet, same content
    assert "未重复计入" in client.get(again.headers["Location"]).get_data(as_text=True)
    changed = _key(client, campaign, "A-001", "11111")
    assert "内容不同" in client.get(changed.headers["Location"]).get_data(as_text=True)
    assert len(session.scalars(select(Response)).all()) == 1
    assert session.scalar(select(Conflict.uuid)) == response.uuid
    statuses = [e.after["status"] for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action == "paper.key").order_by(AuditEntry.id))]
    assert statuses == ["stored", "duplicate", "conflict"]


def test_bad_keying_is_refused_with_a_reason(admin_client, make_campaign, session):
    campaign = make_campaign()
    for data, message in [({"sheet": ""}, "请填写问卷编号"), ({"sheet": "x y"}, "请填写问卷编号"),
                          ({"sheet": "1", "digits": "1111"}, "5 位数字"),
                          ({"sheet": "1", "digits": "11114"}, "只能填 1–3"),
                          ({"sheet": "1", "identity": "9"}, "身份只能填"),
                          ({"sheet": "1", "unit": "NOPE"}, "不在此链接范围内")]:
        reply = _key(admin_client, campaign, data.pop("sheet"), **data)
        assert reply.status_code == 422 and message in reply.get_data(as_text=True), message
    assert session.scalar(select(Response.id)) is None


def test_secretary_keys_only_their_units(client, make_campaign, make_user, login, session):
    campaign = make_campaign()
    zf01 = next(u for u in campaign.units if u.code == "ZF01")
    make_user("zf01", Role.SECRETARY, units=[zf01])
    login("zf01")
    assert _key(client, campaign, "9", unit="ZF02").status_code == 422
    assert _key(client, campaign, "9", unit="ZF01").status_code == 302
    assert session.scalar(select(Response.meta))["keyed_by"] == "zf01"
    other = make_campaign(title="别的活动")
    assert client.get(f"/admin/campaigns/{other.id}/paper").status_code == 404


def test_a_unit_code_of_another_campaign_gives_no_right(client, make_campaign, make_user, login,
                                                       session):
    """Unit codes are unique per campaign only: a secretary of ZF01 last year keys nothing for
    this year's ZF01 unless it is theirs too."""
    last_year, this_year = make_campaign(title="去年"), make_campaign(title="今年")
    mine_last = next(u for u in last_year.units if u.code == "ZF01")
    mine_now = next(u for u in this_year.units if u.code == "ZF02")
    make_user("sec", Role.SECRETARY, units=[mine_last, mine_now])
    login("sec")
    assert _key(client, this_year, "7", unit="ZF01").status_code == 422
    assert _key(client, this_year, "7", unit="ZF02").status_code == 302
    assert [r.unit.code for r in session.scalars(select(Response))] == ["ZF02"]


def test_sheet_ids_are_secret_and_survive_a_key_rotation(app, admin_client, make_campaign,
                                                         session):
    """Nobody outside can compute a sheet's id in advance (and claim it through the public sync
    so the real sheet becomes a never-counted conflict); a rotated key still finds it."""
    campaign = make_campaign()
    old = LinkSigner(["old-key"])
    assert sheet_uuids(old, campaign.id, "S-1") != sheet_uuids(LinkSigner(["other"]),
                                                               campaign.id, "S-1")
    assert _key(admin_client, campaign, "S-1").status_code == 302
    first = session.scalar(select(Response.uuid))
    assert first == sheet_uuids(signer(), campaign.id, "S-1")[0]
    rotated = LinkSigner([app.config["SECRET_KEY"], "a-new-secret-key"])  # the old key verifies
    assert sheet_uuid(session, rotated, campaign.id, "S-1") == first
    assert sheet_uuids(rotated, campaign.id, "S-1")[0] != first


def test_double_entry_lists_mismatches_and_merges_agreed_sheets(
        client, make_campaign, make_user, login, session):
    campaign = make_campaign()
    make_user("admin")
    make_user("keyer2")
    login("admin")
    for sheet, digits in [("1", "11111"), ("2", "22222"), ("3", "33333")]:
        assert _key(client, campaign, sheet, digits, mode="double").status_code == 302
    # the same person cannot key the second pass
    reply = _key(client, campaign, "1", "11111", mode="double", pass_no=2)
    assert reply.status_code == 422 and "不同的人" in reply.get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("keyer2")
    assert _key(client, campaign, "1", "11111", mode="double", pass_no=2).status_code == 302
    assert _key(client, campaign, "2", "22122", mode="double", pass_no=2).status_code == 302
    again = _key(client, campaign, "2", "22222", mode="double", pass_no=2)
    assert again.status_code == 422 and "已录入过" in again.get_data(as_text=True)
    assert session.scalar(select(Response.id)) is None  # nothing stored before agreement

    page = client.get(f"/admin/campaigns/{campaign.id}/paper/mismatches").get_data(as_text=True)
    assert "不一致或只录了一遍的问卷（2）" in page
    assert "<td>2</td><td>评价</td>" in page and "<td>3</td><td>缺一遍</td>" in page
    assert "两遍一致、待提交的问卷（1）" in page
    reply = client.post(f"/admin/campaigns/{campaign.id}/paper/mismatches", data={
        "csrf_token": csrf_from(client, f"/admin/campaigns/{campaign.id}/paper/mismatches")})
    assert reply.status_code == 302
    (stored,) = session.scalars(select(Response)).all()
    assert stored.uuid == sheet_uuids(signer(), campaign.id, "1")[0]
    assert all(e.merged_at for e in session.scalars(select(PaperEntry).where(
        PaperEntry.sheet_no == "1")))
    page = client.get(f"/admin/campaigns/{campaign.id}/paper/mismatches").get_data(as_text=True)
    assert "两遍一致、待提交的问卷（0）" in page
    # keying the merged sheet again in single mode is still caught by the merge
    again = _key(client, campaign, "1", "11111")
    assert "未重复计入" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(session.scalars(select(Response)).all()) == 1
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("paper.stage") == 5 and actions.count("paper.merge_agreed") == 1


def test_secretary_sees_only_their_units_sheets_in_double_entry(client, make_campaign, make_user,
                                                                login):
    """Another unit's keyed ratings and comments never reach a secretary's mismatch list."""
    campaign = make_campaign()
    zf01 = next(u for u in campaign.units if u.code == "ZF01")
    make_user("admin")
    make_user("zf01", Role.SECRETARY, units=[zf01])
    login("admin")
    assert _key(client, campaign, "77", "55555", unit="ZF02", comment="人社局态度恶劣",
                mode="double").status_code == 302
    assert _key(client, campaign, "78", "11111", unit="ZF01", comment="市场监管局很好",
                mode="double").status_code == 302
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("zf01")
    # the secretary's second pass of sheet 77 names their own unit: still nothing of ZF02 shown
    assert _key(client, campaign, "77", "11111", unit="ZF01", mode="double",
                pass_no=2).status_code == 302
    page = client.get(f"/admin/campaigns/{campaign.id}/paper/mismatches")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "人社局态度恶劣" not in text and "ZF02" not in text and "55555" not in text
    assert "市场监管局很好" in text and "不一致或只录了一遍的问卷（1）" in text
    assert "仅显示本单位的问卷" in text
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("admin")
    text = client.get(f"/admin/campaigns/{campaign.id}/paper/mismatches").get_data(as_text=True)
    assert "人社局态度恶劣" in text and "不一致或只录了一遍的问卷（2）" in text
    assert "仅显示本单位的问卷" not in text
