"""marshmallow schemas for what phones send to /api/v1/sync.

Every string must be storable as UTF-8 text: JSON can carry lone UTF-16 surrogates ("\ud800") and
NUL, which no UTF-8 encoder (and no PostgreSQL text) accepts, so they are refused item by item. No
message repeats client text except through `quote`, which makes it short and printable.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timezone
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from .followups.intake import CONTACT_ERROR, normalise_phone

MAX_BATCH = 500
MAX_COMMENT = 2000
MAX_META_BYTES = 4096
#: nesting levels of `meta` (the top object is the first): deep enough for any real extra,
#: shallow enough that checking and storing it never comes near Python's recursion limit
MAX_META_DEPTH = 8
MAX_TOKEN = 2048
MAX_RECEIPT = 512
MAX_KEY = 40

REQUIRED: dict[str, Any] = {"required": "缺少此字段。", "null": "不能为空。"}


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored as UTF-8 text, or None when it can."""
    if "\x00" in text:
        return "不能包含空字符（\\u0000）。"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "含有无法保存的字符（不成对的 UTF-16 代理项），请删除乱码后重试。"
    return None


def check_storable(text: str) -> str:
    """:raise ValidationError: `text` cannot be stored as UTF-8 text."""
    problem = unstorable(text)
    if problem:
        raise ValidationError(problem)
    return text


def quote(value: object, limit: int = 20) -> str:
    """Client text made safe to show inside a message: short, printable, always encodable."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)[:limit + 1]
    text = "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") else c
                   for c in text[:limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"


class Text(fields.String):
    """A string that can be stored as UTF-8 text (no NUL, no lone surrogate)."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        return check_storable(super()._deserialize(value, attr, data, **kwargs))


class AnswerMap(fields.Field):
    """{item key: level key}, both short strings; checked in one pass (it is the hot path)."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        if not isinstance(value, dict):
            raise ValidationError("必须是对象，形如 {评议内容代码: 评价档次代码}。")
        for key, level in value.items():
            problem = unstorable(key) or (unstorable(level) if isinstance(level, str) else None)
            if problem:
                raise ValidationError(f"评议内容代码或评价档次代码{problem}")
            if not 0 < len(key) <= MAX_KEY:
                raise ValidationError(
                    f"评议内容代码须为 1–{MAX_KEY} 个字符（现为 {len(key)} 个）。")
            if not (isinstance(level, str) and 0 < len(level) <= MAX_KEY):
                raise ValidationError(f"“{quote(key)}”的评价必须是 1–{MAX_KEY} 个字符的档次代码。")
        return value


def _check_meta_text(value: object, depth: int = 1) -> None:
    """:raise ValidationError: `meta` nests too deep, or a key or string in it cannot be stored."""
    if isinstance(value, dict | list) and depth > MAX_META_DEPTH:
        raise ValidationError(f"附加信息嵌套不能超过 {MAX_META_DEPTH} 层。")
    if isinstance(value, str):
        check_storable(value)
    elif isinstance(value, dict):
        for key, inner in value.items():
            check_storable(key)
            _check_meta_text(inner, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            _check_meta_text(inner, depth + 1)


class _ChineseSchema(Schema):
    error_messages = {"unknown": "未知字段。", "type": "必须是 JSON 对象。"}


class ResponseItemSchema(_ChineseSchema):
    """One rater's response as the phone queued it."""

    class Meta:
        unknown = RAISE

    id = fields.UUID(required=True, error_messages={**REQUIRED, "invalid_uuid": "必须是 UUID。"})
    token = Text(required=True,
                 validate=validate.Length(1, MAX_TOKEN,
                                          error=f"链接长度须为 1–{MAX_TOKEN} 个字符。"),
                 error_messages={**REQUIRED, "invalid": "必须是字符串。"})
    unit = Text(load_default=None, allow_none=True,
                validate=validate.Length(1, 20, error="评议对象代码长度须为 1–20 个字符。"),
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
                    validate=validate.Length(max=MAX_KEY,
                                             error=f"评议人员身份代码不能超过 {MAX_KEY} 个字符。"),
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
    #: the form receipt the server issued when this rating's form was opened
    receipt = Text(load_default=None, allow_none=True,
                   validate=validate.Length(1, MAX_RECEIPT,
                                            error=f"表单回执长度须为 1–{MAX_RECEIPT} 个字符。"),
                   error_messages={"invalid": "必须是字符串。"})
    #: an optional call-back phone (实名回访), normalised; kept apart from the rating
    contact = Text(load_default=None, allow_none=True,
                   validate=validate.Length(max=30, error=CONTACT_ERROR),
                   error_messages={"invalid": "必须是字符串。"})

    @validates("created_at")
    def _created_at_plausible(self, value: datetime, **_: object) -> None:
        if not 2000 <= value.year <= 2100:
            raise ValidationError("时间超出范围，请检查手机的日期设置。")

    @post_load
    def _normalise_contact(self, data: dict, **_: object) -> dict:
        contact = (data.get("contact") or "").strip()
        try:
            data["contact"] = normalise_phone(contact) if contact else None
        except ValueError as exc:
            raise ValidationError(str(exc), "contact") from exc
        return data

    @validates("meta")
    def _meta_small(self, value: dict, **_: object) -> None:
        _check_meta_text(value)
        try:
            size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())
        except ValueError as exc:  # NaN or Infinity: not JSON, and PostgreSQL refuses them
            raise ValidationError("附加信息含有无效的数值（NaN/Infinity）。") from exc
        if size > MAX_META_BYTES:
            raise ValidationError(f"附加信息不能超过 {MAX_META_BYTES} 字节。")


class BatchEnvelopeSchema(_ChineseSchema):
    """The outer body; items are validated one by one so one bad item spares the rest."""

    class Meta:
        unknown = RAISE

    #: evidence only: an unusable one is treated as absent (see `usable_device_id`)
    device_id = fields.Raw(load_default=None, allow_none=True)
    responses = fields.List(
        fields.Raw(allow_none=True), required=True,
        validate=validate.Length(max=MAX_BATCH, error=f"每批最多上传 {MAX_BATCH} 份，请分批上传。"),
        error_messages={**REQUIRED, "invalid": "必须是数组。"})


def usable_device_id(value: object) -> str | None:
    """The batch's device id, or None when it is not a storable string of 1–64 characters.

    A device id is evidence for repeat flags, never authority, so a bad one must not sink the
    batch: its ratings are stored without one (and cannot be matched as repeats).
    """
    if isinstance(value, str) and 0 < len(value) <= 64 and unstorable(value) is None:
        return value
    return None


def describe_errors(messages: dict | list | str, prefix: str = "") -> str:
    """Flatten marshmallow's nested error messages into one line a person can act on."""
    if isinstance(messages, str):
        return f"{prefix}{messages}" if prefix else messages
    if isinstance(messages, list):
        return "；".join(describe_errors(m, prefix) for m in messages)
    parts = []
    for key, value in messages.items():
        label = "" if key == "_schema" else f"{prefix}{quote(key)}"
        parts.append(describe_errors(value, f"{label}：" if label else ""))
    return "；".join(parts)
