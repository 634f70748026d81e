"""Admins import a phone's exported queue on a web page; importing twice stores nothing twice."""

from __future__ import annotations

import io
import json

from sqlalchemy import func, select

from sync.models import Channel, Response, Role

ANSWERS = ["efficiency", "attitude", "competence", "conduct", "integrity"]


def queue_file(items) -> io.BytesIO:  # type: ignore[no-untyped-def]
    body = {"format": "pingyi-queue", "version": 1, "device_id": "phone-7",
            "exported_at": "2026-11-23T08:00:00Z", "responses": items}
    return io.BytesIO(json.dumps(body, ensure_ascii=False).encode())


def test_admin_imports_a_queue_file(admin_client, post_form, session, make_campaign, make_link,
                                    make_item):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01", "ZF02"], Channel.VISIT, visit_place="红星村")
    good = [make_item(token, unit="ZF01"), make_item(token, unit="ZF02")]
    bad = make_item(token)  # no unit chosen on a two-unit visit link
    items = [*good, bad]

    page = admin_client.get("/admin/import-queue")
    assert page.status_code == 200 and "导入离线数据" in page.get_data(as_text=True)
    first = post_form("/admin/import-queue", data={"queue_file": (queue_file(items), "q.json")},
                      content_type="multipart/form-data")
    text = first.get_data(as_text=True)
    assert first.status_code == 200
    assert "新保存 2 份" in text and "无法保存 1 份" in text
    assert bad["id"] in text and "请选择要评议的单位" in text

    again = post_form("/admin/import-queue", data={"queue_file": (queue_file(items), "q.json")},
                      content_type="multipart/form-data")
    assert "此前已保存 2 份" in again.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Response)) == 2


def test_import_refuses_other_files_and_other_people(client, admin_client, post_form, make_user,
                                                     login):
    wrong = post_form("/admin/import-queue",
                      data={"queue_file": (io.BytesIO(b"not json at all"), "photo.jpg")},
                      content_type="multipart/form-data")
    assert wrong.status_code == 422
    assert "class=\"err\"" in wrong.get_data(as_text=True)

    make_user("sec", Role.SECRETARY)
    assert login("sec").status_code == 302  # the same browser, now a unit secretary
    assert client.get("/admin/import-queue").status_code == 403
