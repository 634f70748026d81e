"""Whatever a phone (or an attacker) sends, the sync endpoint never answers 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Any code point, lone surrogates and NUL included: valid JSON, not all of it storable text.
any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(any_text, children, max_size=4),
    max_leaves=20,
)

FIELDS = ["id", "token", "unit", "created_at", "answers", "comment", "identity", "meta", "receipt"]

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(body=json_values)
def test_any_json_body(client, body):
    reply = client.post("/api/v1/sync", data=json.dumps(body), content_type="application/json")
    assert reply.status_code in (200, 400), reply.get_data(as_text=True)
    assert reply.is_json


@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_bytes(client, raw):
    reply = client.post("/api/v1/sync", data=raw, content_type="application/json")
    assert reply.status_code in (200, 400)
    assert "error" in reply.json or "results" in reply.json


@pytest.fixture
def token(make_campaign, make_link):  # type: ignore[no-untyped-def]
    return make_link(make_campaign())[1]


@FUZZ
@given(data=st.data())
def test_mutated_valid_items(client, token, make_item, data):
    items = []
    for _ in range(data.draw(st.integers(1, 4))):
        item = make_item(token)
        for key in data.draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
            if data.draw(st.booleans()):
                item.pop(key, None)
            else:
                item[key] = data.draw(json_values)
        items.append(item)
    device = data.draw(st.one_of(st.none(), any_text, st.text(max_size=80), st.integers()))
    body = json.dumps({"device_id": device, "responses": items})  # surrogates as \ud800 escapes
    reply = client.post("/api/v1/sync", data=body, content_type="application/json")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_data().decode("utf-8")  # the reply is always encodable
    results = reply.json["results"]
    assert len(results) == len(items)
    assert all(r["status"] in ("stored", "duplicate", "conflict", "rejected") for r in results)
    assert all(r.get("error") for r in results if r["status"] == "rejected")


@FUZZ
@given(fields=st.dictionaries(
    st.sampled_from(["response_id", "unit", "created_at", "comment", "identity",
                     "a.efficiency", "a.attitude", "a.bogus"]),
    st.text(max_size=40), max_size=8))
def test_any_plain_form_post(client, token, fields):
    reply = client.post(f"/s/{token}", data=fields)
    expected = (400,) if any("\x00" in v for v in fields.values()) else (200, 422)
    assert reply.status_code in expected, reply.get_data(as_text=True)[:500]
