"""The /s/<token> page over plain HTTP: size on the wire, what it embeds, the no-JS POST."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from sqlalchemy import func, select

from sync.merge import REPEAT_DEVICE
from sync.models import Channel, Conflict, Response

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
BUDGET = 14 * 1024


def embedded_config(html: str) -> dict:
    found = re.search(r'<script id="cfg" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page embeds its form definition"
    return json.loads(found.group(1))


def no_js_form(token: str, item: dict, **extra: str) -> dict:
    form = {f"a.{k}": v for k, v in item["answers"].items()}
    form.update(response_id=item["id"], identity=item["identity"], comment=item["comment"], **extra)
    return form


@pytest.mark.parametrize("template", ["jiguan5", "shuangwan", "haochaping"])
@pytest.mark.parametrize("channel", [Channel.ONLINE, Channel.VISIT])
def test_page_is_one_small_gzipped_document(template, channel, client, make_campaign, make_link):
    campaign = make_campaign(template=template, supervision_phone="0791-83869993")
    visit = "红星村" if channel == Channel.VISIT else None
    _, token = make_link(campaign, ["ZF01", "ZF02", "ZZ01"], channel=channel, visit_place=visit)

    reply = client.get(f"/s/{token}", headers=GZIP)
    assert reply.status_code == 200
    assert reply.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in reply.headers["Vary"]
    wire = reply.get_data()  # the bytes on the wire
    assert int(reply.headers["Content-Length"]) == len(wire) <= BUDGET
    html = gzip.decompress(wire).decode()
    # Everything inline: no stylesheet, script file, font, image or API call before it is usable.
    assert not re.search(r'<link[^>]+stylesheet|<script[^>]+src=|<img|url\(|@font-face', html)
    assert re.findall(r'<link[^>]*href="([^"]+)"', html) in (
        ["data:,"], ["data:,", f"/s/{token}/manifest.webmanifest"])


def test_page_embeds_the_form_definition(app, client, make_campaign, make_link):
    campaign = make_campaign()
    link, token = make_link(campaign, ["ZF01", "ZF02"], channel=Channel.VISIT,
                            visit_place="红星村")
    html = client.get(f"/s/{token}").get_data(as_text=True)
    config = embedded_config(html)
    api = client.get(f"/api/v1/forms/{token}").json
    # Each opening of the form gets its own signed receipt (the no-JS form carries it too);
    # everything else is the same definition.
    signer = app.extensions["link_signer"]
    for receipt in (config["form"].pop("receipt"), api.pop("receipt")):
        assert signer.verify_receipt(receipt).link_id == link.id
    assert f'name="receipt" value="{embedded_config(html)["form"]["receipt"]}"' in html
    assert config["form"] == api
    assert config["token"] == token and config["sync"] == "/api/v1/sync"
    assert config["visit"] is True and config["poster"] is False


def test_plain_response_when_gzip_not_accepted(client, make_campaign, make_link):
    _, token = make_link(make_campaign())
    reply = client.get(f"/s/{token}", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in reply.headers
    assert reply.get_data(as_text=True).startswith("<!doctype html>")


def served_form(client, token: str) -> dict:  # type: ignore[no-untyped-def]
    """The hidden fields of the no-JS form as the page serves them."""
    html = client.get(f"/s/{token}").get_data(as_text=True)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))


def test_no_js_double_submit_is_one_rating(client, make_campaign, make_link, make_item, session):
    _, token = make_link(make_campaign())
    hidden = served_form(client, token)
    item = make_item(token, comment="很好", id=hidden["response_id"])
    form = no_js_form(token, item, created_at=hidden["created_at"], unit=hidden["unit"])
    first = client.post(f"/s/{token}", data=form)
    again = client.post(f"/s/{token}", data=form)
    assert "您的评议已提交成功" in first.get_data(as_text=True)
    assert "此前已提交成功" in again.get_data(as_text=True)
    assert session.scalars(select(Response.uuid)).all() == [item["id"]]

    changed = client.post(f"/s/{token}", data={**form, "a.integrity": "basic"})
    assert "本次修改的内容已另行保存" in changed.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Conflict)) == 1
    assert session.scalar(select(func.count()).select_from(Response)) == 1


def test_no_js_rejection_keeps_what_was_filled(client, make_campaign, make_link, make_item,
                                               session):
    _, token = make_link(make_campaign())
    item = make_item(token, comment="排队太久")
    del item["answers"]["integrity"]
    reply = client.post(f"/s/{token}", data=no_js_form(token, item))
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert "请评价：廉洁自律。" in html and "排队太久" in html
    assert 'value="satisfied" required checked' in html
    assert session.scalar(select(Response.id)) is None


def test_device_cookie_flags_a_poster_repeat(client, make_campaign, make_link, make_item, session):
    _, token = make_link(make_campaign())
    page = client.get(f"/s/{token}")
    device = client.get_cookie("pingyi_device")
    assert device is not None and 'id="done" class="done" hidden' in page.get_data(as_text=True)

    client.post(f"/s/{token}", data=no_js_form(token, make_item(token)))
    # A new GET with the same cookie is told at once; a repeat that still arrives is kept, flagged.
    assert 'id="done" class="done">' in client.get(f"/s/{token}").get_data(as_text=True)
    again = client.post(f"/s/{token}", data=no_js_form(token, make_item(token)))
    assert "您已评议过该单位" in again.get_data(as_text=True)
    rows = session.scalars(select(Response).order_by(Response.id)).all()
    assert [r.device_id for r in rows] == [device.value, device.value]
    assert [r.flags for r in rows] == [[], [REPEAT_DEVICE]]


@pytest.mark.parametrize("cookie", ["a\x00b", "x" * 65])
def test_an_unusable_device_cookie_is_replaced(cookie, client, make_campaign, make_link,
                                               make_item, session):
    # Cookie unquoting turns "\\000" into NUL, which PostgreSQL refuses (it was a 500 there).
    _, token = make_link(make_campaign())
    client.set_cookie("pingyi_device", cookie)
    page = client.get(f"/s/{token}")
    fresh = client.get_cookie("pingyi_device")
    assert page.status_code == 200 and fresh is not None and fresh.value != cookie

    client.set_cookie("pingyi_device", cookie)
    sent = client.post(f"/s/{token}", data=no_js_form(token, make_item(token)))
    assert sent.status_code == 200 and "您的评议已提交成功" in sent.get_data(as_text=True)
    stored = session.scalars(select(Response.device_id)).all()
    assert stored == [client.get_cookie("pingyi_device").value] and stored[0] != cookie


def test_visit_links_allow_rater_after_rater(client, make_campaign, make_link, make_item, session):
    _, token = make_link(make_campaign(), ["ZF01", "ZF02"], channel=Channel.VISIT,
                         visit_place="红星村")
    for code in ("ZF01", "ZF01", "ZF02"):
        reply = client.post(f"/s/{token}", data=no_js_form(token, make_item(token), unit=code))
        assert "继续下一份评议" in reply.get_data(as_text=True)
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert 'id="done" class="done" hidden' in html and "（已评议）" not in html
    assert all(r.flags == [] for r in session.scalars(select(Response)))


def test_service_worker_is_served_for_the_form_scope(client):
    reply = client.get("/s/sw.js")
    assert reply.status_code == 200 and reply.mimetype == "application/javascript"
    assert reply.headers["Cache-Control"] == "no-cache"
    assert 'addEventListener("fetch"' in reply.get_data(as_text=True)


def test_manifest_starts_at_the_visit_page(client, make_campaign, make_link):
    _, token = make_link(make_campaign(), ["ZF01"], channel=Channel.VISIT, visit_place="红星村")
    manifest = client.get(f"/s/{token}/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.json["start_url"] == f"/s/{token}"
    assert manifest.json["short_name"] == "红星村入户评议"
    for icon in manifest.json["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png"
        image.close()


@pytest.mark.parametrize("path", ["/s/{}", "/s/{}/manifest.webmanifest"])
def test_bad_token_gets_a_chinese_4xx(path, client, make_campaign, make_link):
    _, token = make_link(make_campaign())
    reply = client.get(path.format(token[:-3] + "xyz"))
    assert 400 <= reply.status_code < 500
    assert "无法打开此页面" in reply.get_data(as_text=True)


def test_multi_unit_poster_disables_only_the_rated_unit(client, make_campaign, make_link,
                                                        make_item):
    _, token = make_link(make_campaign(), ["ZF01", "ZF02"])
    client.get(f"/s/{token}")  # sets the device cookie
    client.post(f"/s/{token}", data=no_js_form(token, make_item(token), unit="ZF01"))
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert '<option value="ZF01" disabled>市场监管局（已评议）</option>' in html
    assert '<option value="ZF02">人社局</option>' in html
    assert '<form id="f" method="post">' in html  # the other unit can still be rated
    assert embedded_config(html)["rated"] == ["ZF01"]


def test_form_page_is_never_reused_from_the_browser_cache(client, make_campaign, make_link):
    _, token = make_link(make_campaign())
    first = client.get(f"/s/{token}")
    assert "no-store" in first.headers["Cache-Control"]
    second = client.get(f"/s/{token}")
    ids = [re.search(r'name="response_id" value="([^"]+)"', r.get_data(as_text=True)).group(1)
           for r in (first, second)]
    assert ids[0] != ids[1]
