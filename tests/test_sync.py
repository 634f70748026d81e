"""The sync endpoint stores every response exactly once, whatever the network does."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from collector.extensions import db
from sync.models import Answer, Channel, Conflict, Response
from sync.reports import campaign_tally


def post(client, responses, device_id="device-1"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/sync", json={"device_id": device_id, "responses": responses})


def count(session, model=Response) -> int:  # type: ignore[no-untyped-def]
    session.rollback()  # see what other connections committed
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def token(make_campaign, make_link):  # type: ignore[no-untyped-def]
    return make_link(make_campaign())[1]


def test_same_batch_five_times_is_stored_once(client, session, token, make_item):
    batch = [make_item(token) for _ in range(20)]
    replies = [post(client, batch) for _ in range(5)]

    assert all(r.status_code == 200 for r in replies)
    assert [r["status"] for r in replies[0].json["results"]] == ["stored"] * 20
    for reply in replies[1:]:
        assert [r["status"] for r in reply.json["results"]] == ["duplicate"] * 20
    assert [r["id"] for r in replies[0].json["results"]] == [i["id"] for i in batch]
    assert count(session) == 20
    assert count(session, Answer) == 20 * 5


@pytest.mark.parametrize("round_", range(50))
def test_eight_threads_overlapping_batches(app, session, token, make_item, round_):
    pool = [make_item(token, created_at=f"2026-11-0{1 + i % 9}T10:00:00+08:00")
            for i in range(40)]
    # Thread k posts a window of 15 items starting at 4k: neighbours overlap by 11.
    batches = [pool[4 * k: 4 * k + 15] for k in range(8)]
    barrier = threading.Barrier(len(batches))
    replies: list[dict | None] = [None] * len(batches)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            client = app.test_client()
            barrier.wait()
            reply = post(client, batches[k], device_id=f"device-{k}")
            assert reply.status_code == 200, reply.get_data(as_text=True)
            replies[k] = reply.json
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

    posted = {i["id"] for b in batches for i in b}
    stored_once: dict[str, int] = {}
    for k, reply in enumerate(replies):
        assert reply is not None
        assert [r["id"] for r in reply["results"]] == [i["id"] for i in batches[k]]
        for result in reply["results"]:
            assert result["status"] in ("stored", "duplicate"), result
            if result["status"] == "stored":
                stored_once[result["id"]] = stored_once.get(result["id"], 0) + 1
    assert stored_once == {i: 1 for i in posted}
    assert count(session) == len(posted)
    rows = session.scalars(select(Response.uuid)).all()
    assert sorted(rows) == sorted(posted)
    assert count(session, Answer) == 5 * len(posted)
    assert count(session, Conflict) == 0


def test_same_id_different_answers_is_a_conflict(client, session, token, make_item):
    original = make_item(token, level="satisfied", comment="很好")
    assert post(client, [original]).json["results"][0]["status"] == "stored"
    changed = dict(original, answers={**original["answers"], "efficiency": "unsatisfied"},
                   comment="其实不满意")

    result = post(client, [changed]).json["results"][0]

    assert result["status"] == "conflict"
    assert "另存" in result["error"]
    stored = session.scalar(select(Response).where(Response.uuid == original["id"]))
    assert stored.comment == "很好"
    assert {a.score for a in stored.answers} == {100}
    conflict = session.scalar(select(Conflict))
    assert conflict.uuid == original["id"]
    assert conflict.payload == changed  # kept whole, exactly as sent
    # Resending the same conflicting copy does not pile up rows, and still says conflict.
    assert post(client, [changed]).json["results"][0]["status"] == "conflict"
    assert count(session, Conflict) == 1
    assert count(session) == 1


def test_same_id_twice_in_one_batch(client, session, token, make_item):
    item = make_item(token)
    other = dict(item, comment="不同内容")
    results = post(client, [item, item, other]).json["results"]
    assert [r["status"] for r in results] == ["stored", "duplicate", "conflict"]
    assert count(session) == 1


def test_one_bad_item_among_99_good(client, session, token, make_item):
    batch = [make_item(token) for _ in range(100)]
    batch[37] = dict(batch[37], answers={**batch[37]["answers"], "attitude": "excellent"})

    results = post(client, batch).json["results"]

    assert [r["id"] for r in results] == [i["id"] for i in batch]
    rejected = [r for r in results if r["status"] == "rejected"]
    assert rejected == [{"id": batch[37]["id"], "status": "rejected", "code": "level_unknown",
                         "error": "“服务态度”的评价“excellent”无效。"}]
    assert sum(r["status"] == "stored" for r in results) == 99
    assert count(session) == 99


@pytest.mark.parametrize(("change", "code", "message"), [
    ({"answers": {"efficiency": "satisfied"}}, "item_missing", "请评价：服务态度"),
    ({"answers": {"efficiency": "satisfied", "speed": "satisfied"}}, "item_unknown", "speed"),
    ({"identity": "alien"}, "identity_unknown", "alien"),
    ({"unit": "NOPE"}, "unit_unknown", "NOPE"),
    ({"token": "abc.def.ghi"}, "link_malformed", "链接"),
    ({"id": "not-a-uuid"}, "invalid", "id：必须是 UUID"),
    ({"created_at": "yesterday"}, "invalid", "created_at"),
    ({"comment": "长" * 2001}, "invalid", "2000"),
    ({"surprise": 1}, "invalid", "未知字段"),
])
def test_invalid_items_are_rejected_with_a_reason(client, session, token, make_item, change,
                                                  code, message):
    item = make_item(token)
    item.update(change)
    (result,) = post(client, [item]).json["results"]
    assert result["status"] == "rejected"
    assert result["code"] == code
    assert message in result["error"]
    assert count(session) == 0


def test_multi_unit_link_requires_a_unit(client, session, make_campaign, make_link, make_item):
    campaign = make_campaign()
    _, token = make_link(campaign, codes=["ZF01", "ZF02"], channel=Channel.VISIT,
                         visit_place="红星村")
    results = post(client, [make_item(token), make_item(token, unit="ZF02"),
                            make_item(token, unit="ZZ01")]).json["results"]
    assert [r["status"] for r in results] == ["rejected", "stored", "rejected"]
    assert results[0]["code"] == "unit_required"
    assert results[2]["code"] == "unit_unknown"
    stored = session.scalar(select(Response))
    assert stored.unit.code == "ZF02"
    assert stored.channel == Channel.VISIT
    assert stored.visit.place == "红星村"


def test_low_levels_of_haochaping_need_a_reason(client, session, make_campaign, make_link,
                                                make_item):
    _, token = make_link(make_campaign(template="haochaping"))
    answers = {"overall": "very_unsatisfied", "efficiency": "satisfied", "attitude": "basic"}
    no_reason = make_item(token, answers=answers, identity="citizen")
    with_reason = make_item(token, answers=answers, identity="citizen", comment="窗口排队两小时")
    results = post(client, [no_reason, with_reason]).json["results"]
    assert results[0]["code"] == "reason_required"
    assert "非常不满意" in results[0]["error"]
    assert results[1]["status"] == "stored"


def test_poster_repeat_from_same_device_is_stored_and_flagged(client, session, token, make_item):
    first, second = make_item(token), make_item(token)
    assert post(client, [first], device_id="phone-A").json["results"][0]["status"] == "stored"
    assert post(client, [second], device_id="phone-A").json["results"][0]["status"] == "stored"
    assert post(client, [make_item(token)], device_id="phone-B").json["results"][0]["status"] \
        == "stored"
    flags = dict(session.execute(select(Response.uuid, Response.flags)).all())
    assert flags[first["id"]] == []
    assert flags[second["id"]] == ["repeat_device"]
    assert count(session) == 3
    # kept for review, but one device counts once in the unit's tally
    campaign = session.scalar(select(Response)).unit.campaign
    (unit,) = [u for u in campaign_tally(session, campaign).units() if u.code == "ZF01"]
    assert unit.respondents == 2
    assert unit.items[0].total == 2


def test_ratings_begun_before_close_upload_late_with_their_receipt(
        app, client, session, make_campaign, make_link, make_item):
    closed_yesterday = date.today() - timedelta(days=1)
    campaign = make_campaign(opens_on=closed_yesterday - timedelta(days=10),
                             closes_on=closed_yesterday)
    link, token = make_link(campaign)
    opened = datetime.combine(closed_yesterday, datetime.min.time(), timezone.utc)
    receipt = app.extensions["link_signer"].sign_receipt(link.id, opened)
    late = make_item(token, created_at=(opened + timedelta(minutes=5)).isoformat(),
                     receipt=receipt)
    # The same backdated time without a receipt proves nothing: the phone's clock is not evidence.
    backdated = make_item(token, created_at=(opened + timedelta(minutes=5)).isoformat())
    results = post(client, [late, backdated]).json["results"]
    assert results[0]["status"] == "stored"
    assert (results[1]["status"], results[1]["code"]) == ("rejected", "campaign_closed")
    assert "回执" in results[1]["error"]
    (row,) = session.scalars(select(Response)).all()
    assert row.uuid == late["id"] and row.flags == ["late_upload"]
    assert row.receipt_issued_at == opened


def test_a_crash_mid_batch_leaves_nothing_half_written(client, session, token, make_item,
                                                       monkeypatch):
    import sync.merge.store

    batch = [make_item(token) for _ in range(10)]
    real = sync.merge.store.claim_first_ratings

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("power cut after responses and answers were inserted")

    monkeypatch.setattr(sync.merge.store, "claim_first_ratings", crash)
    with pytest.raises(RuntimeError):
        client.application.testing = True
        post(client, batch)
    assert count(session) == 0
    assert count(session, Answer) == 0

    monkeypatch.setattr(sync.merge.store, "claim_first_ratings", real)
    assert [r["status"] for r in post(client, batch).json["results"]] == ["stored"] * 10
    assert count(session, Answer) == 50


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "JSON"),
    (b"\xff\xfe\x00", 400, "JSON"),
    (b"[1, 2]", 400, "responses"),
    (b'{"device_id": "x"}', 400, "responses"),
    (b'{"responses": {"id": 1}}', 400, "数组"),
    (json.dumps({"responses": [{}] * 501}).encode(), 400, "500"),
    (b'{"responses": []}', 200, None),
])
def test_bad_bodies_get_a_clear_4xx(client, body, status, message):
    reply = client.post("/api/v1/sync", data=body, content_type="application/json")
    assert reply.status_code == status
    if message:
        assert message in reply.json["error"]


def test_body_over_one_megabyte_is_413_json(client, token, make_item, session):
    item = make_item(token)
    body = json.dumps({"responses": [item], "pad": "x" * (1024 * 1024)})
    reply = client.post("/api/v1/sync", data=body, content_type="application/json")
    assert reply.status_code == 413
    assert "1 MB" in reply.json["error"]
    assert count(session) == 0


def test_healthz(client):
    reply = client.get("/healthz")
    assert reply.status_code == 200
    assert reply.json["status"] == "ok"


def test_healthz_reports_an_unreachable_store(tmp_path):
    from collector import create_app

    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/x"})
    reply = app.test_client().get("/healthz")
    with app.app_context():
        db.engine.dispose()
    assert reply.status_code == 503
    assert reply.json["database"] == "unreachable"


def test_form_definition(client, make_campaign, make_link):
    campaign = make_campaign()
    _, token = make_link(campaign, codes=["ZF01"])
    definition = client.get(f"/api/v1/forms/{token}").json
    assert definition["campaign"] == {"id": campaign.id, "title": "测试评议活动",
                                      "closes_on": campaign.closes_on.isoformat(),
                                      "supervision_phone": None}
    assert definition["channel"] == "online"
    assert definition["units"] == [{"code": "ZF01", "name": "市场监管局"}]
    assert [i["label"] for i in definition["items"]] == ["工作效率", "服务态度", "业务水平",
                                                         "工作作风", "廉洁自律"]
    assert [lv["label"] for lv in definition["items"][0]["levels"]] == ["满意", "基本满意", "不满意"]
    assert [c["label"] for c in definition["identities"]] == ["企业服务对象", "乡村振兴帮扶对象"]
    bad = client.get(f"/api/v1/forms/{token[:-4]}xxxx")
    assert bad.status_code == 403
    assert bad.json["code"] == "link_tampered"


def test_uuid_case_and_timestamp_do_not_make_a_conflict(client, session, token,
                                                                make_item):
    item = make_item(token, created_at="2026-11-20T10:00:00+08:00")
    assert post(client, [item]).json["results"][0]["status"] == "stored"
    same = dict(item, id=item["id"].upper(), created_at="2026-11-20T02:00:00Z",
                answers=dict(reversed(list(item["answers"].items()))))
    assert post(client, [same]).json["results"][0] == {"id": same["id"], "status": "duplicate"}
    assert count(session) == 1


def test_unknown_uuid_format_variants_store_one_row(client, session, token, make_item):
    raw = uuid.uuid4()
    a = make_item(token, id=str(raw))
    b = dict(a, id=raw.hex)
    results = post(client, [a, b]).json["results"]
    assert [r["status"] for r in results] == ["stored", "duplicate"]
    assert count(session) == 1


def test_a_batch_that_keeps_deadlocking_answers_503_and_stores_nothing(client, session, token,
                                                                       make_item, monkeypatch):
    from sqlalchemy.exc import DBAPIError

    import sync.merge

    class Deadlock(Exception):
        sqlstate = "40P01"

    attempts = []

    def deadlock(*args, **kwargs):  # type: ignore[no-untyped-def]
        attempts.append(1)
        raise DBAPIError("INSERT", {}, Deadlock())

    monkeypatch.setattr(sync.merge, "store_batch", deadlock)
    reply = post(client, [make_item(token)])
    assert reply.status_code == 503 and reply.json["code"] == "busy"
    assert "手机上" in reply.json["error"]  # the phone keeps its queue and retries later
    assert len(attempts) == 8 and count(session) == 0
