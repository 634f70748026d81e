"""The OpenAPI document of /api/v1, and schemathesis fuzzing the API against it (both stores)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from collector.auth import session_stamp
from sync.accounts import create_user
from sync.models import Role

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def test_document_describes_the_api(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    sync = doc["paths"]["/api/v1/sync"]["post"]
    assert {"200", "400", "413", "429"} <= set(sync["responses"])
    assert "Retry-After" in sync["responses"]["429"]["headers"]
    assert "/api/v1/forms/{token}" in doc["paths"]
    assert "/api/v1/admin/campaigns/{campaign_id}/tallies" in doc["paths"]
    item = doc["components"]["schemas"]["ResponseItem"]
    # Generated from sync.schemas: the validator's own fields and limits.
    assert {"id", "token", "created_at", "answers"} <= set(item["required"])
    assert item["properties"]["comment"]["maxLength"] == 2000
    assert item["additionalProperties"] is False


def test_real_replies_match_the_document(app, client, session, make_campaign, make_link,
                                        make_item):
    """A stored item, a form definition, a link error and tallies, checked against the document."""
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    campaign = make_campaign()
    _, token = make_link(campaign)
    reply = client.post("/api/v1/sync", json={"device_id": "d1", "responses": [make_item(token)]})
    assert reply.status_code == 200 and reply.get_json()["results"][0]["status"] == "stored"
    api["/api/v1/sync"]["POST"].validate_response(reply)
    api["/api/v1/forms/{token}"]["GET"].validate_response(client.get(f"/api/v1/forms/{token}"))
    forged = client.get(f"/api/v1/forms/{token[:-2]}xx")
    assert forged.status_code in (400, 403)
    api["/api/v1/forms/{token}"]["GET"].validate_response(forged)
    admin = create_user(session, "reader", "reader-password-1", Role.ADMIN)
    session.commit()
    with client.session_transaction() as cookie:
        cookie.update(user_id=admin.id, stamp=session_stamp(admin))
    tallies = client.get(f"/api/v1/admin/campaigns/{campaign.id}/tallies")
    assert tallies.status_code == 200 and tallies.get_json()["summary"]["responses"] == 1
    api["/api/v1/admin/campaigns/{campaign_id}/tallies"]["GET"].validate_response(tallies)


@pytest.fixture
def api_schema(app, session, make_campaign, make_link):  # type: ignore[no-untyped-def]
    """The document loaded from the app itself, with a campaign, a link and a signed-in admin."""
    campaign = make_campaign()
    make_link(campaign)
    admin = create_user(session, "fuzz-admin", "fuzz-password-1", Role.ADMIN)
    session.commit()
    serializer = app.session_interface.get_signing_serializer(app)
    app.config["FUZZ_COOKIE"] = serializer.dumps({"user_id": admin.id,
                                                  "stamp": session_stamp(admin)})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_api_conforms_to_its_document(app, api_schema):  # type: ignore[no-untyped-def]
    """Generated requests on every operation: no 5xx, every reply as the document says."""
    cookies = {app.config["SESSION_COOKIE_NAME"]: app.config["FUZZ_COOKIE"]}
    seen: list[tuple[str, int]] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 3
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):  # type: ignore[no-untyped-def]
            response = case.call_and_validate(cookies=cookies, checks=CHECKS)
            seen.append((case.operation.path, response.status_code))

        call()
    # The fuzzing really reached the views (signed in: the tallies view answered, not its guard).
    assert ("/api/v1/sync", 200) in seen
    assert {status for path, status in seen if "tallies" in path} - {401}, sorted(set(seen))
