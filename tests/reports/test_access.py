"""A unit secretary sees only their own units on every results page, export and API answer."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from sync.models import Role

from .conftest import unit_by_code

PAGES = ["/admin/campaigns/{c}/results", "/admin/campaigns/{c}/dashboard",
         "/admin/campaigns/{c}/export.csv?table=responses",
         "/admin/campaigns/{c}/export.csv?table=tallies",
         "/api/v1/admin/campaigns/{c}/tallies"]


@pytest.fixture
def secretary(hand_built, session, make_user, login):  # type: ignore[no-untyped-def]
    """A secretary of ZF02 (人社局) only, signed in."""
    user = make_user("renshe", units=[unit_by_code(session, hand_built, "ZF02")])
    login(user)
    return user


def test_anonymous_is_sent_to_login_or_refused(client, hand_built):
    for page in PAGES:
        reply = client.get(page.format(c=hand_built.id))
        if page.startswith("/api/"):
            assert reply.status_code == 401
            assert reply.json["error"] == "请先登录管理后台。"
        else:
            assert reply.status_code == 302
            assert "/admin/login" in reply.headers["Location"]


@pytest.mark.parametrize("page", PAGES)
def test_secretary_gets_404_for_a_campaign_without_their_units(client, session, hand_built,
                                                               secretary, page):
    previous_id = hand_built.previous_campaign_id  # ZF02 there is another unit row
    assert client.get(page.format(c=previous_id)).status_code == 404
    assert client.get(page.format(c=hand_built.id)).status_code == 200
    assert client.get(page.format(c=999_999)).status_code == 404


def test_secretary_gets_403_or_404_for_other_units_by_guessed_ids(client, session, hand_built,
                                                                  secretary):
    own = unit_by_code(session, hand_built, "ZF02")
    base = f"/admin/campaigns/{hand_built.id}/units/"
    assert client.get(f"{base}{own.id}").status_code == 200
    for code in ("ZF01", "ZF03", "DQ01", "ZZ01"):
        assert client.get(f"{base}{unit_by_code(session, hand_built, code).id}").status_code == 403
    previous_unit = next(u for u in session.get(type(hand_built), hand_built.previous_campaign_id)
                         .units if u.code == "ZF02")
    assert client.get(f"{base}{previous_unit.id}").status_code == 404  # other campaign's unit
    assert client.get(f"{base}999999").status_code == 404
    # Own unit id under the other campaign's URL: the campaign is not theirs at all.
    assert client.get(f"/admin/campaigns/{hand_built.previous_campaign_id}/units/{own.id}"
                      ).status_code == 404


OTHER_NAMES = ["市场监管局", "住建局", "交通局", "组织部", "宣传部", "统战部", "税务局"]


def test_secretary_pages_show_only_their_unit(client, hand_built, secretary):
    for page in ("results", "dashboard"):
        html = client.get(f"/admin/campaigns/{hand_built.id}/{page}").get_data(as_text=True)
        assert "人社局" in html
        for name in OTHER_NAMES:
            assert name not in html, (page, name)
    # Comments of other units (DQ02, DQ03) never reach the dashboard.
    dashboard = client.get(f"/admin/campaigns/{hand_built.id}/dashboard").get_data(as_text=True)
    assert "电话没人接" not in dashboard and "办事要跑好几趟" not in dashboard


def test_secretary_api_and_exports_hold_only_their_unit(client, hand_built, secretary,
                                                       export_xlsx):
    data = client.get(f"/api/v1/admin/campaigns/{hand_built.id}/tallies").json
    assert [u["code"] for c in data["categories"] for u in c["units"]] == ["ZF02"]
    assert data["summary"]["responses"] == 2
    assert data["latest_comments"] == []
    assert data["categories"][0]["units"][0]["rank"] == 2  # rank among all 政府 units

    body = client.get(f"/admin/campaigns/{hand_built.id}/export.csv?table=responses").get_data(
        as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert len(rows) == 3 and {r[2] for r in rows[1:]} == {"ZF02"}

    for table, code_column in (("tallies", 1), ("rankings", 2)):
        reply = export_xlsx(hand_built, table)
        assert reply.status_code == 200
        sheet = load_workbook(io.BytesIO(reply.data)).active
        codes = {row[code_column] for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert codes == {"ZF02"}, table


def test_admin_sees_every_unit(client, hand_built, make_user, login):
    login(make_user("boss", role=Role.ADMIN))
    data = client.get(f"/api/v1/admin/campaigns/{hand_built.id}/tallies").json
    assert len([u for c in data["categories"] for u in c["units"]]) == 9
    assert data["summary"]["responses"] == 13
    html = client.get(f"/admin/campaigns/{hand_built.id}/results").get_data(as_text=True)
    for name in OTHER_NAMES:
        assert name in html
