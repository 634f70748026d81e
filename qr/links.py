"""Sign and verify the links printed on posters and visit cards.

A token carries everything the form needs to know about where a rating came from: the link id (for
revocation), the campaign, the unit codes it covers, the channel and the visit. Each purpose has its
own salt so a poster token can never be replayed as a visit token. Keys rotate: the newest key
signs, every key in the list still verifies.

The same keys sign *form receipts* under their own salt: when a form is opened the server hands the
phone a receipt (link id, issued-at) that later proves a rating uploaded after the link or campaign
closed was begun while it was still open.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from itsdangerous import (
    BadData,
    BadSignature,
    SignatureExpired,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)


class LinkPurpose(enum.StrEnum):
    POSTER = "poster"
    VISIT = "visit"
    #: one sample-pool rater's own link (seed 004's drawn raters): one rating per unit
    PERSONAL = "personal"


SALTS = {
    LinkPurpose.POSTER: "pingyi.link.poster.v1",
    LinkPurpose.VISIT: "pingyi.link.visit.v1",
    LinkPurpose.PERSONAL: "pingyi.link.personal.v1",
}
RECEIPT_SALT = "pingyi.form-receipt.v1"


class LinkError(Exception):
    """A token that must not open a form; `reason` is a stable machine key."""

    reason = "link_invalid"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LinkMalformed(LinkError):
    reason = "link_malformed"
    http_status = 400


class LinkTampered(LinkError):
    reason = "link_tampered"
    http_status = 403


class LinkExpired(LinkError):
    reason = "link_expired"
    http_status = 410


class LinkRevoked(LinkError):
    reason = "link_revoked"
    http_status = 410


class CampaignUnknown(LinkError):
    reason = "campaign_unknown"
    http_status = 404


class CampaignClosed(LinkError):
    reason = "campaign_closed"
    http_status = 410


class CampaignNotOpen(LinkError):
    reason = "campaign_not_open"
    http_status = 403


class ReceiptInvalid(LinkError):
    reason = "receipt_invalid"
    http_status = 400


@dataclass(frozen=True)
class FormReceipt:
    """What a verified form receipt says: this link's form was served at `issued_at`."""

    link_id: int
    issued_at: datetime
    #: `issued_at` exactly as signed (milliseconds since the epoch): with `link_id`, the
    #: receipt's identity (sync.integrity.repeats keys receipt claims by it)
    issued_ms: int


@dataclass(frozen=True)
class LinkClaims:
    """What a verified token says."""

    link_id: int
    campaign_id: int
    purpose: LinkPurpose
    channel: str
    unit_codes: tuple[str, ...]
    visit_id: int | None = None
    max_age: int | None = None
    #: when this token was signed (set by `verify`; not part of the signed payload)
    signed_at: datetime | None = field(default=None, compare=False)

    @property
    def expires_at(self) -> datetime | None:
        """The moment this token stops opening the form, if its lifetime is limited."""
        if self.max_age is None or self.signed_at is None:
            return None
        return self.signed_at + timedelta(seconds=self.max_age)

    def to_payload(self) -> dict:
        payload: dict = {"l": self.link_id, "c": self.campaign_id, "ch": self.channel,
                         "u": list(self.unit_codes)}
        if self.visit_id is not None:
            payload["v"] = self.visit_id
        if self.max_age is not None:
            payload["ma"] = self.max_age
        return payload

    @classmethod
    def from_payload(cls, purpose: LinkPurpose, payload: object,
                     signed_at: datetime | None = None) -> LinkClaims:
        if not isinstance(payload, dict):
            raise LinkMalformed("链接内容不完整，请重新扫描二维码。")
        try:
            units = payload["u"]
            if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
                raise TypeError("units")
            return cls(
                link_id=int(payload["l"]),
                campaign_id=int(payload["c"]),
                purpose=purpose,
                channel=str(payload["ch"]),
                unit_codes=tuple(units),
                visit_id=int(payload["v"]) if payload.get("v") is not None else None,
                max_age=int(payload["ma"]) if payload.get("ma") is not None else None,
                signed_at=signed_at,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LinkMalformed("链接内容不完整，请重新扫描二维码。") from exc


class LinkSigner:
    """Sign and verify link tokens with a rotating key list (oldest first, newest last)."""

    def __init__(self, secret_keys: Sequence[str | bytes]) -> None:
        keys = [k for k in secret_keys if k]
        if not keys:
            raise ValueError("at least one secret key is required")
        self._keys: list[str | bytes] = keys

    def digests(self, message: bytes) -> list[bytes]:
        """HMAC-SHA256 of `message` under each key, newest key first: names that only the
        server can compute (a paper sheet's rating id), still found after a key rotation."""
        keys = [k.encode() if isinstance(k, str) else k for k in reversed(self._keys)]
        return [hmac.new(k, message, hashlib.sha256).digest() for k in keys]

    def _serializer(self, purpose: LinkPurpose) -> URLSafeTimedSerializer:
        # itsdangerous signs with the last key and verifies with any of them.
        return URLSafeTimedSerializer(self._keys, salt=SALTS[purpose])  # type: ignore[arg-type]

    def sign(self, claims: LinkClaims) -> str:
        """Return the URL-safe token for these claims."""
        return self._serializer(claims.purpose).dumps(claims.to_payload())

    def verify(
        self,
        token: str,
        purpose: LinkPurpose,
        is_revoked: Callable[[int], bool] | None = None,
        accept_expired: bool = False,
    ) -> LinkClaims:
        """Return the claims of a genuine, unexpired, unrevoked token.

        `accept_expired` lets an expired token through (its `expires_at` says since when), for
        late uploads that a form receipt vouches for.

        :raise LinkError: a subclass naming exactly why the token is refused.
        """
        if not token or len(token) > 2048 or "." not in token:
            raise LinkMalformed("链接不完整或格式不正确，请重新扫描二维码。")
        serializer = self._serializer(purpose)
        try:
            payload, signed = serializer.loads(token, return_timestamp=True)
        except BadSignature as exc:
            if not _looks_complete(token):
                raise LinkMalformed("链接不完整，可能复制时被截断，请重新扫描二维码。") from exc
            raise LinkTampered("链接校验失败，可能被篡改，请扫描张贴的原始二维码。") from exc
        except BadData as exc:
            raise LinkMalformed("链接内容无法识别，请重新扫描二维码。") from exc
        claims = LinkClaims.from_payload(purpose, payload, signed)
        if claims.max_age is not None and not accept_expired:
            try:
                serializer.loads(token, max_age=claims.max_age)
            except SignatureExpired as exc:
                raise LinkExpired("该评议链接已过期，请联系组织单位获取新的链接。") from exc
        if is_revoked is not None and is_revoked(claims.link_id):
            raise LinkRevoked("该评议链接已停用，请扫描最新张贴的二维码。")
        return claims

    def verify_any(
        self, token: str, is_revoked: Callable[[int], bool] | None = None,
        accept_expired: bool = False,
    ) -> LinkClaims:
        """Verify a token of either purpose; the purpose is read from which salt matches."""
        last_error: LinkError | None = None
        for purpose in LinkPurpose:
            try:
                return self.verify(token, purpose, is_revoked, accept_expired)
            except LinkTampered as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    def sign_receipt(self, link_id: int, issued_at: datetime | None = None) -> str:
        """Return a form receipt for a link's form served now (or at `issued_at`)."""
        moment = issued_at.timestamp() if issued_at else time.time()
        return URLSafeSerializer(self._keys, salt=RECEIPT_SALT).dumps(  # type: ignore[arg-type]
            {"l": link_id, "t": int(moment * 1000)})

    def verify_receipt(self, receipt: str) -> FormReceipt:
        """Return what a genuine form receipt says.

        :raise ReceiptInvalid: forged, tampered, truncated or not a receipt.
        """
        try:
            payload = URLSafeSerializer(self._keys, salt=RECEIPT_SALT).loads(  # type: ignore[arg-type]
                receipt)
            issued_ms = int(payload["t"])
            issued = datetime.fromtimestamp(issued_ms / 1000, timezone.utc)
            return FormReceipt(link_id=int(payload["l"]), issued_at=issued, issued_ms=issued_ms)
        except (BadData, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
            raise ReceiptInvalid("表单回执校验失败（可能被篡改或不完整），无法证明评议的填写时间。"
                                 ) from exc


def _looks_complete(token: str) -> bool:
    """Tell a truncated token (missing signature or timestamp part) from a forged one."""
    parts = token.lstrip(".").split(".")  # a leading dot marks a compressed payload
    # payload.timestamp.signature; a SHA-1 HMAC is 27 base64url characters.
    return len(parts) == 3 and len(parts[2]) >= 27


# Short codes avoid look-alike characters (0/O, 1/I/L) so the printed fallback URL can be typed.
SHORT_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# 31^8 ≈ 8.5e11 codes: hopeless to guess at the form rate limit. Codes printed when they had
# 6 characters stay in the store and keep resolving.
SHORT_CODE_LENGTH = 8


def new_short_code() -> str:
    """Return a random short code for a /q/<code> redirect."""
    return "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))
