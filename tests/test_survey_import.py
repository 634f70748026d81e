"""Importing a phone's exported queue file: the admin's last resort, safe to repeat."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from sync.models import Channel, Response
from sync.queue_file import QueueFileError, import_queue_file


def queue_file(items: list[dict], **fields) -> dict:  # type: ignore[no-untyped-def]
    return {"format": "pingyi-queue", "version": 1, "device_id": "phone-1",
            "exported_at": "2026-11-23T08:00:00Z", "responses": items, **fields}


@pytest.fixture
def visit_token(make_campaign, make_link):  # type: ignore[no-untyped-def]
    _, token = make_link(make_campaign(), ["ZF01", "ZF02"], channel=Channel.VISIT,
                         visit_place="红星村")
    return token


def test_import_stores_once_and_reports(app, session, visit_token, make_item):
    signer = app.extensions["link_signer"]
    items = [make_item(visit_token, unit="ZF01") for _ in range(3)]
    bad = make_item(visit_token, unit="ZZ01")  # not a unit of this link
    data = json.dumps(queue_file([*items, bad]), ensure_ascii=False).encode()

    first = import_queue_file(session, signer, data)
    assert first.counts == {"stored": 3, "rejected": 1}
    assert [p.id for p in first.problems] == [bad["id"]]
    assert "不在此链接范围内" in (first.problems[0].error or "")
    again = import_queue_file(session, signer, data)
    assert again.counts == {"duplicate": 3, "rejected": 1}
    rows = session.scalars(select(Response)).all()
    assert len(rows) == 3 and {r.device_id for r in rows} == {"phone-1"}


@pytest.mark.parametrize("data, message", [
    (b"\xff\xfe not json", "不是有效的 JSON"),
    (b"[]", "不是评议表单导出"),
    (json.dumps({"format": "pingyi-queue", "version": 9, "responses": []}), "不支持的文件版本"),
    (json.dumps({"format": "pingyi-queue", "version": 1}), "缺少 responses"),
])
def test_import_refuses_what_is_not_a_queue_file(app, session, data, message):
    with pytest.raises(QueueFileError) as caught:
        import_queue_file(session, app.extensions["link_signer"], data)
    assert message in caught.value.message


def test_cli_import_queue(runner, session, visit_token, make_item, tmp_path):
    path = tmp_path / "pingyi-2026-11-23-2份.json"
    path.write_text(json.dumps(queue_file([make_item(visit_token, unit="ZF02"),
                                           make_item(visit_token, unit="ZF01")])))
    result = runner.invoke(args=["import-queue", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 responses: stored 2, duplicate 0, conflict 0, rejected 0" in result.output
    result = runner.invoke(args=["import-queue", str(path)])
    assert "stored 0, duplicate 2" in result.output
    assert session.scalar(select(func.count()).select_from(Response)) == 2

    path.write_text("{}")
    result = runner.invoke(args=["import-queue", str(path)])
    assert result.exit_code != 0 and "不是评议表单导出" in result.output
