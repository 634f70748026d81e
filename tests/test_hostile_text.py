"""Strings that cannot be stored as UTF-8 (lone surrogates, NUL) or are too long, in every field:
the item is rejected on its own, the rest of the batch is stored, the reply is valid JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from sync.models import Response

SURROGATE = "\ud800"  # valid JSON ("\\ud800"), no UTF-8 encoder accepts it
NUL = "\x00"


def post_raw(client, body: dict) -> tuple[int, dict, bytes]:  # type: ignore[no-untyped-def]
    """Post with json.dumps' ASCII escapes (how a phone's JSON.stringify sends a lone surrogate)."""
    reply = client.post("/api/v1/sync", data=json.dumps(body), content_type="application/json")
    raw = reply.get_data()
    return reply.status_code, json.loads(raw.decode("utf-8")), raw  # strict UTF-8 and JSON


def count(session) -> int:  # type: ignore[no-untyped-def]
    session.rollback()
    return session.scalar(select(func.count()).select_from(Response))


def put(item: dict, field: str, value: Any) -> dict:
    """Set `field` of a sync item; "answers.key"/"answers.value"/"meta.key"/"meta.value" go inside."""
    item = dict(item)
    if field == "answers.key":
        item["answers"] = {**item["answers"], value: "satisfied"}
    elif field == "answers.value":
        item["answers"] = {**item["answers"], "efficiency": value}
    elif field == "meta.key":
        item["meta"] = {value: 1}
    elif field == "meta.value":
        item["meta"] = {"note": [{"deep": value}]}
    else:
        item[field] = value
    return item


FIELDS = ["id", "token", "unit", "answers.key", "answers.value", "comment", "identity",
          "meta.key", "meta.value", "receipt"]
#: a string one character past each field's limit, and words of the message that says so
OVERLONG = {
    "id": ("a" * 37, "UUID"),
    "token": ("t" * 2049, "2048"),
    "unit": ("U" * 21, "1–20"),
    "answers.key": ("k" * 41, "1–40"),
    "answers.value": ("v" * 41, "1–40"),
    "comment": ("长" * 2001, "2000"),
    "identity": ("i" * 41, "40"),
    "meta.key": ("m" * 4100, "4096"),
    "meta.value": ("值" * 1400, "4096"),  # 1,400 characters, 4,200 bytes of UTF-8
    "receipt": ("r" * 513, "512"),
}


@pytest.fixture
def token(make_campaign, make_link):  # type: ignore[no-untyped-def]
    return make_link(make_campaign())[1]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("bad", ["surrogate", "nul", "overlong"])
def test_one_bad_string_spares_the_rest_of_the_batch(client, session, token, make_item, field,
                                                     bad):
    if bad == "overlong":
        value, words = OVERLONG[field]
    else:
        value = f"前{SURROGATE if bad == 'surrogate' else NUL}后"
        words = {"surrogate": "代理项", "nul": "空字符"}[bad]
        if field == "id":
            words = "UUID"
    good = [make_item(token) for _ in range(3)]
    poisoned = put(make_item(token), field, value)
    status, reply, _ = post_raw(client, {"device_id": "phone-1",
                                         "responses": [good[0], poisoned, *good[1:]]})

    assert status == 200
    results = reply["results"]
    assert [r["status"] for r in results] == ["stored", "rejected", "stored", "stored"]
    assert [results[i]["id"] for i in (0, 2, 3)] == [g["id"] for g in good]
    assert words in results[1]["error"], results[1]["error"]
    # Messages never repeat the raw client text: not the bad character, not the long string;
    # the echoed id (how the phone matches results) is made safe when it is not sane text.
    error = results[1]["error"]
    assert value not in error and NUL not in error and SURROGATE not in error, error
    assert NUL not in results[1]["id"] and SURROGATE not in results[1]["id"]
    assert count(session) == 3


@pytest.mark.parametrize("device_id", [f"phone{SURROGATE}", f"phone{NUL}", "p" * 65, 42, ["x"]])
def test_an_unusable_device_id_is_treated_as_absent(client, session, token, make_item,
                                                    device_id):
    items = [make_item(token) for _ in range(2)]
    status, reply, _ = post_raw(client, {"device_id": device_id, "responses": items})
    assert status == 200
    assert [r["status"] for r in reply["results"]] == ["stored", "stored"]
    session.rollback()
    assert session.scalars(select(Response.device_id)).all() == [None, None]


def test_messages_quote_client_text_short_and_printable(client, session, token, make_item):
    item = make_item(token)
    item["answers"] = {**item["answers"], "x" * 30: "satisfied"}
    status, reply, _ = post_raw(client, {"responses": [item, {"id": "z" * 500, "surprise": 1}]})
    assert status == 200
    first, second = reply["results"]
    assert first["code"] == "item_unknown"
    assert "x" * 20 + "…" in first["error"] and "x" * 21 not in first["error"]
    assert len(second["id"]) <= 65 and second["id"].endswith("…")  # an absurd id, cut short
    unit = make_item(token, unit="ZF\u202eX9")  # a right-to-left override hiding in a code
    (result,) = post_raw(client, {"responses": [unit]})[1]["results"]
    assert result["code"] == "unit_unknown" and "\u202e" not in result["error"]
    assert "ZF\ufffdX9" in result["error"]


def test_surrogate_keys_in_unknown_fields_and_envelope(client, session, token, make_item):
    item = make_item(token)
    item[f"x{SURROGATE}"] = 1
    status, reply, _ = post_raw(client, {"responses": [item, make_item(token)]})
    assert status == 200
    assert [r["status"] for r in reply["results"]] == ["rejected", "stored"]
    assert "未知字段" in reply["results"][0]["error"]
    status, reply, _ = post_raw(client, {"responses": [], f"pad{SURROGATE}": 1})
    assert status == 400 and "未知字段" in reply["error"]
