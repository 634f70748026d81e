"""marshmallow schemas for what phones send to /api/v1/sync."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

MAX_BATCH = 500
MAX_COMMENT = 2000
MAX_META_BYTES = 4096

REQUIRED: dict[str, Any] = {"required": "缺少此字段。", "null": "不能为空。"}


class Text(fields.String):
    """A string without NUL characters (PostgreSQL text cannot hold them)."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("不能包含空字符（\\u0000）。")
        return text


class AnswerMap(fields.Field):
    """{item key: level key}, both short strings; checked in one pass (it is the hot path)."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        if not isinstance(value, dict):
            raise ValidationError("必须是对象，形如 {评议内容代码: 评价档次代码}。")
        for key, level in value.items():
            if not (isinstance(level, str) and 0 < len(key) <= 40 and 0 < len(level) <= 40):
                raise ValidationError(f"“{key[:40]}”的评价必须是 1–40 个字符的档次代码。")
            if "\x00" in key or "\x00" in level:
                raise ValidationError("不能包含空字符（\\u0000）。")
        return value


class _ChineseSchema(Schema):
    error_messages = {"unknown": "未知字段。", "type": "必须是 JSON 对象。"}


class ResponseItemSchema(_ChineseSchema):
    """One rater's response as the phone queued it."""

    class Meta:
        unknown = RAISE

    id = fields.UUID(required=True, error_messages={**REQUIRED, "invalid_uuid": "必须是 UUID。"})
    token = Text(required=True, validate=validate.Length(1, 2048, error="链接长度不正确。"),
                          error_messages={**REQUIRED, "invalid": "必须是字符串。"})
    unit = Text(load_default=None, allow_none=True,
                         validate=validate.Length(1, 20, error="评议对象代码长度不正确。"),
                         error_messages={"invalid": "必须是字符串。"})
    created_at = fields.AwareDateTime(
        required=True, default_timezone=timezone.utc,
        error_messages={**REQUIRED, "invalid": "必须是 ISO 8601 时间。",
                        "invalid_awareness": "必须是 ISO 8601 时间。"})
    answers = AnswerMap(required=True, error_messages=REQUIRED)
    comment = Text(load_default="", allow_none=True,
                            validate=validate.Length(max=MAX_COMMENT,
                                                     error=f"意见建议不能超过 {MAX_COMMENT} 字。"),
                            error_messages={"invalid": "必须是字符串。"})
    identity = Text(load_default=None, allow_none=True,
                             validate=validate.Length(max=40),
                             error_messages={"invalid": "必须是字符串。"})
    meta = fields.Dict(load_default=dict, error_messages={"invalid": "必须是对象。"})
    #: a correction or void names the rating it replaces (sync/versions.py)
    replaces = fields.UUID(load_default=None, allow_none=True,
                           error_messages={"invalid_uuid": "必须是 UUID。"})
    void = fields.Boolean(load_default=False, error_messages={"invalid": "必须是 true 或 false。"})
    void_reason = Text(load_default=None, allow_none=True,
                       validate=validate.Length(max=200, error="作废原因不能超过 200 字。"),
                       error_messages={"invalid": "必须是字符串。"})

    @validates_schema
    def _void_has_reason(self, data: dict[str, Any], **_: object) -> None:
        if data.get("void") and not (data.get("void_reason") or "").strip():
            raise ValidationError("作废评议须写明原因。", "void_reason")
        if data.get("void") and data.get("answers"):
            raise ValidationError("作废的评议不能包含评价。", "answers")

    @validates("created_at")
    def _created_at_plausible(self, value: datetime, **_: object) -> None:
        if not 2000 <= value.year <= 2100:
            raise ValidationError("时间超出范围，请检查手机的日期设置。")

    @validates("meta")
    def _meta_small(self, value: dict, **_: object) -> None:
        try:
            size = len(json.dumps(value, ensure_ascii=False, allow_nan=False))
        except ValueError as exc:  # NaN or Infinity: not JSON, and PostgreSQL refuses them
            raise ValidationError("附加信息含有无效的数值（NaN/Infinity）。") from exc
        if size > MAX_META_BYTES:
            raise ValidationError(f"附加信息不能超过 {MAX_META_BYTES} 字节。")


class BatchEnvelopeSchema(_ChineseSchema):
    """The outer body; items are validated one by one so one bad item spares the rest."""

    class Meta:
        unknown = RAISE

    device_id = Text(load_default=None, allow_none=True,
                              validate=validate.Length(1, 64, error="设备编号长度不正确。"),
                              error_messages={"invalid": "必须是字符串。"})
    responses = fields.List(
        fields.Raw(allow_none=True), required=True,
        validate=validate.Length(max=MAX_BATCH, error=f"每批最多上传 {MAX_BATCH} 份，请分批上传。"),
        error_messages={**REQUIRED, "invalid": "必须是数组。"})


def describe_errors(messages: dict | list | str, prefix: str = "") -> str:
    """Flatten marshmallow's nested error messages into one line a person can act on."""
    if isinstance(messages, str):
        return f"{prefix}{messages}" if prefix else messages
    if isinstance(messages, list):
        return "；".join(describe_errors(m, prefix) for m in messages)
    parts = []
    for key, value in messages.items():
        label = "" if key == "_schema" else f"{prefix}{key}"
        parts.append(describe_errors(value, f"{label}：" if label else ""))
    return "；".join(parts)
