"""Validate a sync body's items against the worker's cache of links and questionnaires.

No statement runs here on a warm cache: everything an item is checked against is plain data
(sync.link_cache), so the store's write lock is never held while Python validates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from qr.links import LinkError, LinkSigner

from ..clock import local_day
from ..followups.intake import follow_up_row
from ..integrity.receipts import LATE_UPLOAD, check_upload_time
from ..link_cache import CachedLink, LinkView
from ..links import check_campaign_open
from ..schemas import (
    BatchEnvelopeSchema,
    ResponseItemSchema,
    describe_errors,
    quote,
    unstorable,
    usable_device_id,
)
from ..versions import VersionRejected, check_version, version_fields

STORED = "stored"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
REJECTED = "rejected"

RATER_UNIT_DONE = "您已评议过该单位，每个单位只能评议一次。"

_item_schema = ResponseItemSchema()
_envelope_schema = BatchEnvelopeSchema()


class BatchError(Exception):
    """The body as a whole is unusable (not an object, no responses list, too many items)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ItemResult:
    id: str
    status: str
    error: str | None = None
    code: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"id": self.id, "status": self.status}
        if self.error:
            out["error"] = self.error
        if self.code:
            out["code"] = self.code
        return out


class ItemRejected(Exception):
    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class PreparedResponse:
    """A validated response, ready to insert."""

    uuid: str
    row: dict[str, Any]
    answers: list[dict[str, int]]
    content_hash: str
    raw: dict[str, Any]
    flags: list[str] = field(default_factory=list)
    #: the follow-up this rating opens, if it qualifies (sync.followups.intake)
    follow_up: dict[str, Any] | None = None
    #: a call-back phone the rater chose to give; stored apart from the rating
    contact: str | None = None
    #: its campaign pushes ratings to a webhook (an outbox row goes with it)
    push: bool = False
    #: a late upload's receipt, (link id, issued ms): on posters it counts once per unit
    late_receipt: tuple[int, int] | None = None


def content_hash(campaign_id: int, unit_code: str, data: dict[str, Any]) -> str:
    """Hash what the rater said, independent of key order and surrounding whitespace.

    The phone's timestamp is left out: a resend of the same answers under the same id is the
    same rating even if a form re-stamped it.
    """
    canonical = {
        "campaign": campaign_id,
        "unit": unit_code,
        "answers": dict(sorted(data["answers"].items())),
        "comment": (data.get("comment") or "").strip(),
        "identity": data.get("identity") or "",
    }
    if data.get("replaces"):  # a correction or void: what it replaces is part of what it says
        canonical.update(replaces=str(data["replaces"]), void=bool(data.get("void")),
                         void_reason=(data.get("void_reason") or "").strip())
    blob = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def parse_envelope(body: object) -> tuple[str | None, list[Any]]:
    """Return (device_id, raw items) of a sync body; an unusable device id comes back as None.

    :raise BatchError: the body is not an object with a `responses` list within limits.
    """
    if not isinstance(body, dict):
        raise BatchError("请求体必须是包含 responses 数组的 JSON 对象。")
    try:
        envelope = _envelope_schema.load(body)
    except ValidationError as exc:
        raise BatchError(describe_errors(exc.messages)) from exc
    return usable_device_id(envelope["device_id"]), envelope["responses"]


def echo_id(raw: object) -> str:
    """The item's id as the reply may repeat it: exact when it is sane text, else made safe."""
    item_id = raw.get("id") if isinstance(raw, dict) else None
    if item_id is None or item_id == "":
        return ""
    if isinstance(item_id, str) and len(item_id) <= 64 and unstorable(item_id) is None:
        return item_id
    return quote(item_id, 64)


@dataclass(frozen=True)
class _Level:
    id: int
    label: str
    score: int
    needs_reason: bool


@dataclass(frozen=True)
class _Item:
    id: int
    label: str
    levels: dict[str, _Level]


@dataclass(frozen=True)
class QuestionnaireIndex:
    """Plain lookups built once per batch, so validating an item touches no ORM attributes."""

    items: dict[str, _Item]
    required: tuple[tuple[str, str], ...]  # (key, label) of required items, in order
    identities: frozenset[str]
    identity_required: bool

    @classmethod
    def of(cls, questionnaire: Any) -> QuestionnaireIndex:
        return cls(
            items={i.key: _Item(i.id, i.label, {
                lv.key: _Level(lv.id, lv.label, lv.score, lv.needs_reason)
                for lv in i.scale.levels}) for i in questionnaire.items},
            required=tuple((i.key, i.label) for i in questionnaire.items if i.required),
            identities=frozenset(c.key for c in questionnaire.identities),
            identity_required=questionnaire.identity_required,
        )


class Preparer:
    """Validates items of one batch against the worker's cache of links and questionnaires."""

    def __init__(self, view: LinkView, signer: LinkSigner, device_id: str | None,
                 now: datetime) -> None:
        self.view = view
        self.signer = signer
        self.device_id = device_id
        self.now = now
        self.today = local_day(now)  # follow-ups open and fall due by the local calendar
        self.client_ip: str | None = None  # evidence for fraud signals (sync.integrity.signals)
        self.session: Session | None = None  # reads a replaced rating's link and phone
        self._resolved: dict[str, CachedLink | LinkError] = {}

    def index(self, link: CachedLink) -> QuestionnaireIndex:
        return self.view.index(link.campaign.questionnaire_id, QuestionnaireIndex.of)

    def resolve(self, token: str) -> CachedLink:
        if token not in self._resolved:
            try:
                # Revocation, expiry and closing are judged per item, by its form receipt.
                found = self.view.resolve(self.signer, token)
                check_campaign_open(found.campaign, local_day(self.now),  # type: ignore[arg-type]
                                    accept_closed=True)
                self._resolved[token] = found
            except LinkError as exc:
                self._resolved[token] = exc
        found = self._resolved[token]
        if isinstance(found, LinkError):
            raise ItemRejected(found.message, found.reason)
        return found

    def prepare(self, raw: Any, data: dict[str, Any]) -> PreparedResponse:
        link = self.resolve(data["token"])
        unit = link.unit_by_code(data["unit"])
        try:
            # Field staff back in town may upload after closing (or after the unit was
            # archived), if the receipt vouches for it.
            timing = check_upload_time(self.signer, link,  # type: ignore[arg-type]
                                       data["created_at"], data["receipt"], self.now, unit)
        except LinkError as exc:
            raise ItemRejected(exc.message, exc.reason) from exc
        if unit is None:
            if data["unit"] is None:
                raise ItemRejected("此链接包含多个评议对象，请选择要评议的单位。", "unit_required")
            raise ItemRejected(f"评议对象“{quote(data['unit'])}”不在此链接范围内。",
                               "unit_unknown")
        questionnaire = self.index(link)
        answers = [] if data["void"] else _check_answers(questionnaire, data)
        identity = data["identity"] or None
        if identity is not None and identity not in questionnaire.identities:
            raise ItemRejected(f"无效的评议人员身份“{quote(identity)}”。", "identity_unknown")
        if identity is None and questionnaire.identity_required and not data["void"]:
            raise ItemRejected("请选择评议人员身份。", "identity_required")
        try:
            check_version(self.session, data, link.link.id,  # type: ignore[arg-type]
                          link.channel, self.device_id)
        except VersionRejected as exc:
            raise ItemRejected(exc.message, exc.code) from exc
        digest = content_hash(link.campaign.id, unit.code, data)
        uuid = str(data["id"])
        row = {
            "uuid": uuid,
            "campaign_id": link.campaign.id,
            "unit_id": unit.id,
            "link_id": link.link.id,
            "channel": link.channel,
            "visit_id": link.link.visit_id,
            "device_id": self.device_id,
            "client_ip": self.client_ip,
            "identity_key": identity,
            "comment": (data["comment"] or "").strip() or None,
            "created_at": data["created_at"],
            "received_at": self.now,
            "content_hash": digest,
            "flags": [LATE_UPLOAD] if timing.late else [],
            "is_repeat": False,
            "meta": data["meta"],
            "rater_id": link.link.rater_id,
            **version_fields(data),
            "receipt_issued_at": timing.receipt_issued_at,
        }
        follow_up = follow_up_row(link.campaign, unit.id, row["comment"],
                                  data["answers"].values(), self.today)
        # The phone number never travels further than its own table (not even a conflict copy).
        raw = {k: v for k, v in raw.items() if k != "contact"}
        return PreparedResponse(uuid=uuid, row=row, answers=answers, content_hash=digest,
                                raw=raw, follow_up=follow_up, contact=data["contact"],
                                push=link.campaign.pushes, late_receipt=timing.late_receipt)


def _check_answers(questionnaire: QuestionnaireIndex,
                   data: dict[str, Any]) -> list[dict[str, int]]:
    """Map item and level keys to ids, enforcing required items and reasons for low levels."""
    given = data["answers"]
    unknown = [k for k in given if k not in questionnaire.items]
    if unknown:
        shown = "、".join(quote(k) for k in unknown[:5]) + ("等" if len(unknown) > 5 else "")
        raise ItemRejected(f"未知的评议内容：{shown}。", "item_unknown")
    missing = [label for key, label in questionnaire.required if key not in given]
    if missing:
        raise ItemRejected(f"请评价：{'、'.join(missing)}。", "item_missing")
    answers = []
    needs_reason = []
    for key, level_key in given.items():
        item = questionnaire.items[key]
        level = item.levels.get(level_key)
        if level is None:
            raise ItemRejected(f"“{item.label}”的评价“{quote(level_key)}”无效。", "level_unknown")
        if level.needs_reason:
            needs_reason.append(level.label)
        answers.append({"item_id": item.id, "level_id": level.id, "score": level.score})
    if needs_reason and not (data["comment"] or "").strip():
        raise ItemRejected(f"选择“{needs_reason[0]}”时请在意见建议中写明原因。", "reason_required")
    return answers


def load_item(raw: Any) -> dict[str, Any]:
    """Check one item's shape (no database needed)."""
    try:
        return _item_schema.load(raw)
    except ValidationError as exc:
        raise ItemRejected(describe_errors(exc.messages)) from exc



def prepare_all(preparer: Preparer, raw_items: list[Any],
                 loaded: list[dict[str, Any] | ItemRejected],
                 ) -> tuple[list[ItemResult], list[PreparedResponse | None]]:
    """Validate every item: a result per item (rejections final) and what to insert."""
    results: list[ItemResult] = []
    prepared: list[PreparedResponse | None] = []
    for raw, data in zip(raw_items, loaded, strict=True):
        try:
            if isinstance(data, ItemRejected):
                raise data
            prepared_item = preparer.prepare(raw, data)
        except ItemRejected as exc:
            results.append(ItemResult(echo_id(raw), REJECTED, exc.message, exc.code))
            prepared.append(None)
            continue
        results.append(ItemResult(echo_id(raw), ""))  # the id exactly as the phone sent it
        prepared.append(prepared_item)
    return results, prepared
