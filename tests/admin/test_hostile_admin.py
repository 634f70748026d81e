"""Absurd ids, dates, field names and files on the cadre pages get a 4xx, never a 500."""

from __future__ import annotations

import io
import zipfile

import pytest


@pytest.mark.parametrize("url", [
    "/admin/campaigns/{big}", "/admin/campaigns/{big}/results", "/admin/units/{big}/edit",
    "/admin/followups/{big}", "/admin/users/{big}", "/admin/followups?campaign={big}",
    "/admin/followups?page={big}",
])
@pytest.mark.parametrize("big", [3_000_000_000, 10**23])
def test_ids_too_large_for_the_database(admin_client, make_campaign, url, big):
    make_campaign()
    reply = admin_client.get(url.format(big=big))
    assert reply.status_code in (200, 404), reply.status_code


@pytest.mark.parametrize("query", ["from=0001-01-01", "to=9999-12-31"])
def test_filter_dates_out_of_range(admin_client, make_campaign, query):
    campaign = make_campaign()
    for page in ("results", "dashboard", "export.csv"):
        reply = admin_client.get(f"/admin/campaigns/{campaign.id}/{page}?{query}")
        assert reply.status_code == 400, (page, reply.status_code)
        assert "超出范围" in reply.get_data(as_text=True)


def test_odd_questionnaire_field_names(admin_client, post_form, make_campaign):
    campaign = make_campaign()
    url = f"/admin/campaigns/{campaign.id}/questionnaire"
    reply = post_form(url, data={"item-²-key": "x", "item-²-label": "y", "title": "t"})
    assert reply.status_code < 500


def test_broken_xlsx_and_bad_unit_codes(admin_client, post_form, make_campaign):
    campaign = make_campaign()
    units = f"/admin/campaigns/{campaign.id}/units"
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("[Content_Types].xml", "<garbage")
    broken.seek(0)
    reply = post_form(units, f"{units}/import", {"sheet": (broken, "u.xlsx")},
                      content_type="multipart/form-data")
    assert reply.status_code == 422 and "无法读取" in reply.get_data(as_text=True)

    sheet = "类别,单位代码,单位名称\n政府工作部门,ZF/09,交通局\n".encode()
    reply = post_form(units, f"{units}/import", {"sheet": (io.BytesIO(sheet), "u.csv")},
                      content_type="multipart/form-data")
    assert reply.status_code == 422 and "只能用字母" in reply.get_data(as_text=True)


@pytest.mark.parametrize("target", ["/%09/evil.com", "//evil.com", "/\\evil.com",
                                    "https://evil.com/", "/%0D/evil.com"])
def test_login_never_redirects_off_site(client, make_user, target):
    from sync.models import Role

    from .conftest import PASSWORD, csrf_from

    make_user("boss", Role.ADMIN)
    token = csrf_from(client, "/admin/login")
    reply = client.post(f"/admin/login?next={target}",
                        data={"username": "boss", "password": PASSWORD, "csrf_token": token})
    assert reply.status_code == 302
    location = reply.headers["Location"]
    assert "evil.com" not in location
