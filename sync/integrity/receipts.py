"""Server time decides access: late uploads need a form receipt from before the closing moment.

A link stops taking ratings when it is revoked (or reissued), when its token expires, and when its
campaign closes by hand or passes its close date (the end of that day in Beijing time); a unit
stops when it is archived. All of these are moments on the server's clock. A rating that arrives
after that moment is accepted only with a receipt the server signed when the rater's form was
opened, issued before the moment and arriving within the grace period; it is flagged
`late_upload`. The phone's `created_at` never opens a door: it is checked against server time
(`future_time`) and against the receipt (`before_receipt`).

A receipt is not tied to one rating: on posters a late rating's receipt counts once per unit
(sync.integrity.repeats; the others are stored as `repeat_receipt`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from qr.links import FormReceipt, LinkError, LinkSigner

from ..clock import LOCAL_TZ
from ..links import ResolvedLink
from ..models import CampaignStatus

if TYPE_CHECKING:
    from ..link_cache import UnitRow
    from ..models import Unit

#: how far the phone's clock may run ahead of (or its rating precede) server-signed times
CLOCK_SKEW = timedelta(minutes=10)
#: how long after the closing moment ratings begun before it may still arrive
LATE_GRACE = timedelta(days=30)

LATE_UPLOAD = "late_upload"
FUTURE_TIME = "future_time"
BEFORE_RECEIPT = "before_receipt"
RECEIPT_OTHER_LINK = "receipt_other_link"
RECEIPT_INVALID = "receipt_invalid"
#: codes of a rating refused because its link or campaign closed (beside the receipt codes)
LINK_REVOKED, LINK_EXPIRED, CAMPAIGN_CLOSED = "link_revoked", "link_expired", "campaign_closed"
UNIT_ARCHIVED = "unit_archived"
CLOSED_CODES = frozenset({LINK_REVOKED, LINK_EXPIRED, CAMPAIGN_CLOSED, UNIT_ARCHIVED,
                          RECEIPT_INVALID, RECEIPT_OTHER_LINK})

_NEVER = datetime.min.replace(tzinfo=timezone.utc)


class UploadRefused(LinkError):
    """A rating refused for when it was made or arrived; `reason` is the result's code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Closing:
    """The earliest moment a link stopped taking ratings, and why."""

    at: datetime
    code: str
    what: str  # Chinese, e.g. "该评议链接已停用"


@dataclass(frozen=True)
class UploadTiming:
    """What server time says about an accepted rating."""

    late: bool
    receipt_issued_at: datetime | None
    #: a late rating's receipt as signed, (link id, issued-at in ms): what it claims on posters
    late_receipt: tuple[int, int] | None = None


def closing_of(link: ResolvedLink, unit: Unit | UnitRow | None = None) -> Closing | None:
    """The first moment the link (or, given, its `unit`: archived) stopped or will stop taking
    ratings, if any is set."""
    found: list[Closing] = []
    if unit is not None and unit.archived_at is not None:
        found.append(Closing(unit.archived_at, UNIT_ARCHIVED, "该评议对象已停止评议"))
    if link.link.revoked_at is not None:
        found.append(Closing(link.link.revoked_at, LINK_REVOKED, "该评议链接已停用"))
    if link.claims.expires_at is not None:
        found.append(Closing(link.claims.expires_at, LINK_EXPIRED, "该评议链接已过期"))
    campaign = link.campaign
    if campaign.status == CampaignStatus.CLOSED:
        # Closed before closing times were recorded: no receipt can predate it.
        found.append(Closing(campaign.closed_at or _NEVER, CAMPAIGN_CLOSED,
                             f"“{campaign.title}”评议已结束"))
    if campaign.closes_on is not None:
        end = datetime.combine(campaign.closes_on + timedelta(days=1), time(), LOCAL_TZ)
        found.append(Closing(end.astimezone(timezone.utc), CAMPAIGN_CLOSED,
                             f"“{campaign.title}”评议已结束"))
    return min(found, key=lambda c: c.at) if found else None


def _local(moment: datetime) -> str:
    if moment == _NEVER:
        return "此前"
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def check_upload_time(signer: LinkSigner, link: ResolvedLink, created_at: datetime,
                      receipt: str | None, now: datetime,
                      unit: Unit | UnitRow | None = None) -> UploadTiming:
    """Judge a rating's times (for `unit` of the link) by the server's clock and its receipt.

    :raise UploadRefused: from the future, before its receipt, a bad or foreign receipt, or
        arriving after its link or campaign closed without a receipt from before that.
    """
    if created_at > now + CLOCK_SKEW:
        raise UploadRefused(FUTURE_TIME, "评议时间晚于服务器当前时间，请把手机的日期和时间"
                                         "设为自动后再填写。")
    proof: FormReceipt | None = None
    if receipt is not None:
        try:
            proof = signer.verify_receipt(receipt)
        except LinkError as exc:
            raise UploadRefused(RECEIPT_INVALID, exc.message) from exc
        if proof.link_id != link.link.id:
            raise UploadRefused(RECEIPT_OTHER_LINK, "表单回执不属于这个评议链接，"
                                                    "无法证明评议的填写时间。")
        if created_at < proof.issued_at - CLOCK_SKEW:
            raise UploadRefused(BEFORE_RECEIPT, "评议时间早于打开表单的时间，请检查手机的"
                                                "日期和时间设置。")
    issued_at = proof.issued_at if proof else None
    closing = closing_of(link, unit)
    if closing is None or now < closing.at:
        return UploadTiming(late=False, receipt_issued_at=issued_at)
    since = f"{closing.what}（{_local(closing.at)}）"
    if now - closing.at > LATE_GRACE:
        raise UploadRefused(closing.code, f"{since}已超过 {LATE_GRACE.days} 天，"
                                          "不再接收补传的评议。")
    if proof is None:
        raise UploadRefused(closing.code, f"{since}，这份评议没有表单回执，无法证明是在此之前"
                                          "打开表单填写的，不予接收。")
    # A receipt carries milliseconds: one from the closing's own millisecond may be after it.
    if proof.issued_ms >= int(closing.at.timestamp() * 1000):
        raise UploadRefused(closing.code, f"{since}，这份评议的表单是在此之后打开的，不予接收。")
    if created_at > closing.at + CLOCK_SKEW:  # an old receipt cannot vouch for a new rating
        raise UploadRefused(closing.code, f"{since}，这份评议的填写时间在此之后，不予接收。")
    return UploadTiming(late=True, receipt_issued_at=issued_at,
                        late_receipt=(proof.link_id, proof.issued_ms))
