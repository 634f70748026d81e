"""The OpenAPI 3 document of /api/v1, generated from the marshmallow schemas (apispec).

Requests are described by the schemas the server validates with (sync.schemas), so a field
added there appears here; replies by the small schemas below, which mirror what the views return.
"""

from __future__ import annotations

import functools
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields, validate

from sync.schemas import MAX_BATCH, AnswerMap, BatchEnvelopeSchema, ResponseItemSchema

STATUSES = ["stored", "duplicate", "conflict", "rejected"]
ERROR = "Error"


class SyncRequestSchema(BatchEnvelopeSchema):
    """The body of POST /api/v1/sync: the envelope with its items spelled out."""

    responses = fields.List(fields.Nested(ResponseItemSchema), required=True,
                            validate=validate.Length(max=MAX_BATCH))


class SyncResultSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the item's id as sent"})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    error = fields.String(metadata={"description": "why the item was rejected (Chinese)"})
    code = fields.String(metadata={"description": "a machine-readable reason"})


class SyncReplySchema(Schema):
    results = fields.List(fields.Nested(SyncResultSchema), required=True,
                          metadata={"description": "one result per item, in request order"})


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "what to do, in Chinese"})
    code = fields.String(metadata={"description": "a machine-readable reason"})


class KeyLabelSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)


class LevelSchema(KeyLabelSchema):
    score = fields.Float(required=True)
    needs_reason = fields.Boolean(required=True)


class ItemSchema(KeyLabelSchema):
    required = fields.Boolean(required=True)
    levels = fields.List(fields.Nested(LevelSchema), required=True)


class FormCampaignSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    closes_on = fields.Date(required=True, allow_none=True)
    supervision_phone = fields.String(required=True, allow_none=True)


class VisitSchema(Schema):
    id = fields.Integer(required=True)
    place = fields.String(required=True)
    staff_name = fields.String(required=True, allow_none=True)


class UnitRefSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class FormDefinitionSchema(Schema):
    campaign = fields.Nested(FormCampaignSchema, required=True)
    channel = fields.String(required=True)
    channel_label = fields.String(required=True)
    visit = fields.Nested(VisitSchema, required=True, allow_none=True)
    units = fields.List(fields.Nested(UnitRefSchema), required=True)
    items = fields.List(fields.Nested(ItemSchema), required=True)
    comment_label = fields.String(required=True)
    identities = fields.List(fields.Nested(KeyLabelSchema), required=True)
    identity_required = fields.Boolean(required=True)
    receipt = fields.String(metadata={
        "description": "Signed form receipt (issued-at, link id): the phone sends it back as "
                       "each rating's `receipt`, proving when a late upload began."})


class TallyCellSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    total = fields.Integer(required=True)
    satisfaction_rate = fields.Float(required=True, allow_none=True)
    score = fields.Float(required=True, allow_none=True)


class PreviousResultSchema(Schema):
    campaign_id = fields.Integer(required=True)
    score = fields.Float(required=True, allow_none=True)
    rank = fields.Integer(required=True, allow_none=True)
    bottom = fields.Boolean(required=True)


class UnitTallySchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    respondents = fields.Integer(required=True)
    score = fields.Float(required=True, allow_none=True)
    satisfaction_rate = fields.Float(required=True, allow_none=True)
    rank = fields.Integer(required=True, allow_none=True)
    bottom = fields.Boolean(required=True)
    ranked_in_category = fields.Integer(required=True, metadata={
        "description": "units of its category with a rank (the n of 第 r 名 / 共 n)"})
    small_sample = fields.Boolean(required=True, metadata={
        "description": "fewer ratings than the campaign's min_ratings"})
    bottom_twice = fields.Boolean(required=True)
    previous = fields.Nested(PreviousResultSchema, required=True, allow_none=True)
    items = fields.List(fields.Nested(TallyCellSchema), required=True)


class CategoryTallySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    units = fields.List(fields.Nested(UnitTallySchema), required=True)


class CountSchema(Schema):
    key = fields.String()
    label = fields.String()
    date = fields.Date()
    count = fields.Integer(required=True)


class SummarySchema(Schema):
    responses = fields.Integer(required=True)
    by_channel = fields.List(fields.Nested(CountSchema), required=True)
    by_day = fields.List(fields.Nested(CountSchema), required=True)


class CommentSchema(Schema):
    unit_code = fields.String(required=True)
    unit_name = fields.String(required=True)
    channel = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"description": "Beijing time, for display"})
    comment = fields.String(required=True)


class TallyCampaignSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    bottom_n = fields.Integer(required=True)
    min_ratings = fields.Integer(required=True)
    previous_campaign_id = fields.Integer(required=True, allow_none=True)


class TalliesSchema(Schema):
    campaign = fields.Nested(TallyCampaignSchema, required=True)
    filter = fields.Dict(required=True, metadata={"description": "the filter as query parameters"})
    levels = fields.List(fields.Raw(), required=True)
    items = fields.List(fields.Dict(), required=True)
    summary = fields.Nested(SummarySchema, required=True)
    categories = fields.List(fields.Nested(CategoryTallySchema), required=True)
    latest_comments = fields.List(fields.Nested(CommentSchema), required=True)
    charts = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": "SVG markup, escaped server-side"})


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/json": {"schema": ERROR}}}
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                               "schema": {"type": "integer", "minimum": 1}, "required": True}}
TOO_MANY = _error("too many requests (SYNC_RATE_LIMIT, ADDRESS_RATE_LIMIT or FORM_RATE_LIMIT)",
                  RETRY_AFTER)
STORE_DOWN = _error("the store is unreachable; retry later, nothing is lost")
LINK_ERRORS = {
    "400": _error("the token is malformed"),
    "403": _error("the token is forged or the campaign is not open"),
    "404": _error("no such link"),
    "410": _error("the link was revoked or has expired"),
}


def _answer_map(_converter: Any, field: Any, **_: Any) -> dict[str, Any]:
    """AnswerMap is {item key: level key}, both 1–40 characters (OpenAPI 3.0 cannot say so of
    the keys)."""
    if isinstance(field, AnswerMap):
        text = {"type": "string", "minLength": 1, "maxLength": 40}
        return {"type": "object", "additionalProperties": text}
    return {}


def _paths(spec: APISpec) -> None:
    spec.path(path="/api/v1/sync", operations={"post": {
        "summary": "Upload a batch of ratings; one result per item, in request order",
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": "SyncRequest"}}},
        "responses": {
            "200": {"description": "per-item results",
                    "content": {"application/json": {"schema": "SyncReply"}}},
            "400": _error("the body is not JSON, or not an object with a responses list"),
            "413": _error("the body is larger than 1 MB; upload in smaller batches"),
            "429": TOO_MANY, "503": STORE_DOWN,
        }}})
    spec.path(path="/api/v1/forms/{token}", operations={"get": {
        "summary": "What a client needs to render the form behind a link and build a sync item",
        "parameters": [{"in": "path", "name": "token", "required": True,
                        "schema": {"type": "string", "minLength": 1}}],
        "responses": {
            "200": {"description": "the form definition",
                    "content": {"application/json": {"schema": "FormDefinition"}}},
            **LINK_ERRORS, "429": TOO_MANY, "503": STORE_DOWN,
        }}})
    spec.path(path="/api/v1/admin/campaigns/{campaign_id}/tallies", operations={"get": {
        "summary": "A campaign's tallies, ranks, activity and charts (signed-in cadres)",
        "security": [{"session": []}],
        "parameters": [
            {"in": "path", "name": "campaign_id", "required": True,
             "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}},
            {"in": "query", "name": "channel", "schema": {"type": "array",
                                                          "items": {"type": "string"}}},
            {"in": "query", "name": "identity", "schema": {"type": "array",
                                                           "items": {"type": "string"}}},
            {"in": "query", "name": "from", "schema": {"type": "string", "format": "date"}},
            {"in": "query", "name": "to", "schema": {"type": "string", "format": "date"}},
        ],
        "responses": {
            "200": {"description": "tallies",
                    "content": {"application/json": {"schema": "Tallies"}}},
            "400": _error("the filter is not valid"),
            "401": _error("not signed in"),
            "404": _error("no such campaign, or none of the secretary's units is in it"),
            "503": STORE_DOWN,
        }}})


@functools.cache
def build_spec() -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title="Pingyi Collector API", version="1", openapi_version="3.0.3",
                   plugins=[plugin], info={"description": "评议收集器 /api/v1"})
    plugin.converter.add_attribute_function(_answer_map)  # type: ignore[union-attr]
    for name, schema in (("SyncRequest", SyncRequestSchema), ("SyncReply", SyncReplySchema),
                         (ERROR, ErrorSchema), ("FormDefinition", FormDefinitionSchema),
                         ("Tallies", TalliesSchema)):
        spec.components.schema(name, schema=schema)
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie",
                                                "name": "pingyi_session"})
    _paths(spec)
    return spec.to_dict()
