"""What the merge hands over when it stores a rating: a follow-up to open, a contact to keep.

Both are decided while an item is validated (from values already loaded for the batch, so no
query), and written by at most two statements in the merge's own transaction, only for rows
that batch really inserted — a duplicate or conflicting resend opens nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert

from .. import fastsql
from ..models import Campaign, FollowUp, FollowUpStatus

if TYPE_CHECKING:
    from ..link_cache import CampaignRow
from .deadlines import add_working_days
from .models import ResponseContact

#: levels that open a follow-up unless the campaign chooses others (the scales' 不满意 levels)
DEFAULT_LEVELS = ("unsatisfied", "very_unsatisfied")

_MOBILE = re.compile(r"1[3-9]\d{9}")
#: area codes 010 and 02x have three digits, all others four; subscriber numbers 7–8 digits
_LANDLINE = re.compile(r"(010|02\d|0[3-9]\d{2})(\d{7,8})")
CONTACT_ERROR = "联系电话格式不正确：请填写 11 位手机号，或带区号的固定电话（如 0791-83869993）。"


def normalise_phone(text: str) -> str:
    """A mainland mobile (11 digits) or a landline with area code, spaces and hyphens dropped.

    :raise ValueError: anything else.
    """
    digits = re.sub(r"[\s\-()（）]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    if _MOBILE.fullmatch(digits):
        return digits
    landline = _LANDLINE.fullmatch(digits)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    raise ValueError(CONTACT_ERROR)


def follow_up_levels(campaign: Campaign | CampaignRow) -> frozenset[str]:
    """Level keys that open a follow-up in this campaign."""
    chosen = campaign.followup_levels
    return frozenset(DEFAULT_LEVELS if chosen is None else chosen)


@lru_cache(maxsize=64)
def _due(opened_on: date, days: int) -> date:
    return add_working_days(opened_on, days)


def follow_up_row(campaign: Campaign | CampaignRow, unit_id: int, comment: str | None,
                  level_keys: Collection[str], today: date) -> dict[str, Any] | None:
    """The follow-up a new rating opens (without its response id), or None if it needs none."""
    if not (comment or "").strip() and follow_up_levels(campaign).isdisjoint(level_keys):
        return None
    return {"campaign_id": campaign.id, "owner_unit_id": unit_id,
            "status": FollowUpStatus.PENDING, "opened_on": today,
            "due_on": _due(today, campaign.followup_days or 5)}


_INSERT_FOLLOW_UP = insert(FollowUp)
_INSERT_CONTACT = insert(ResponseContact)


def store_intake(conn: Connection,
                 stored: Sequence[tuple[int, dict[str, Any] | None, str | None]]) -> None:
    """Write follow-ups and contacts of newly stored responses: (response id, row, phone)."""
    follow_ups = [{**row, "response_id": rid} for rid, row, _ in stored if row is not None]
    contacts = [{"response_id": rid, "phone": phone} for rid, _, phone in stored if phone]
    if follow_ups:
        fastsql.run(conn, _INSERT_FOLLOW_UP, follow_ups)
    if contacts:
        fastsql.run(conn, _INSERT_CONTACT, contacts)
