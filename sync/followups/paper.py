"""Paper questionnaires (问卷调查) keyed in by staff, through the same exactly-once merge.

A sheet's number decides its response UUID, so a sheet keyed twice meets the merge's unique
UUID: the same answers are a `duplicate`, different ones a `conflict` — never a second rating.
Double-entry mode keys each sheet twice (two people) into a staging table and lists mismatches;
only sheets whose two keyings agree go on to the store.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qr.links import LinkSigner

from ..db import write_transaction
from ..links import issue_link, sign_link
from ..merge import ItemResult, merge_batch
from ..models import Campaign, Channel, Link, Response, User
from .models import PaperEntry

SHEET_RE = re.compile(r"[0-9A-Za-z\-]{1,40}")


class PaperError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sheet_uuids(signer: LinkSigner, campaign_id: int, sheet_no: str) -> list[str]:
    """The response UUID of a paper sheet under each secret key, newest first.

    The same sheet always gets the same id, so keying it twice is a duplicate or conflict. The id
    is keyed by the server's secret: a public id scheme would let anyone claim a sheet's id in
    advance through /api/v1/sync and make the real sheet a "conflict" that never counts.
    """
    message = f"{campaign_id}:{sheet_no.upper()}".encode()
    return [str(uuid.UUID(bytes=d[:16], version=4)) for d in signer.digests(message)]


def sheet_uuid(session: Session, signer: LinkSigner, campaign_id: int, sheet_no: str) -> str:
    """The id to store a sheet under: one an older key already gave it, else the newest key's."""
    newest, *older = sheet_uuids(signer, campaign_id, sheet_no)
    earlier = session.scalar(select(Response.uuid).where(Response.uuid.in_(older))) \
        if older else None
    return earlier or newest


@dataclass(frozen=True)
class Keyed:
    """One sheet as keyed: unit code, a digit per item (1 = first level), identity digit, text."""

    sheet_no: str
    unit: str
    digits: str
    identity: str
    comment: str

    def payload(self) -> dict[str, str]:
        return {"unit": self.unit, "digits": self.digits, "identity": self.identity,
                "comment": self.comment}


def clean_keyed(sheet_no: str, unit: str, digits: str, identity: str, comment: str) -> Keyed:
    """Normalise what was typed.

    :raise PaperError: no or malformed sheet number, or no unit.
    """
    sheet_no = (sheet_no or "").strip().upper()
    if not SHEET_RE.fullmatch(sheet_no):
        raise PaperError("请填写问卷编号（字母、数字或短横线，最多 40 位）。")
    unit = (unit or "").strip().upper()
    if not unit:
        raise PaperError("请填写评议对象代码。")
    return Keyed(sheet_no, unit, re.sub(r"\s", "", digits or ""), (identity or "").strip(),
                 (comment or "").strip())


def to_item(campaign: Campaign, token: str, keyed: Keyed, user: User,
            sheet_id: str) -> dict[str, Any]:
    """Turn a keyed sheet into a sync item: digit n picks the item's n-th level.

    :raise PaperError: a digit out of range or the wrong number of digits.
    """
    items = campaign.questionnaire.items
    if len(keyed.digits) != len(items) or not keyed.digits.isdigit():
        raise PaperError(f"请按题目顺序输入 {len(items)} 位数字（1 表示第一档，依此类推）。")
    answers = {}
    for item, digit in zip(items, keyed.digits, strict=True):
        levels = item.scale.levels
        if not 1 <= int(digit) <= len(levels):
            raise PaperError(f"“{item.label}”只能填 1–{len(levels)}。")
        answers[item.key] = levels[int(digit) - 1].key
    identities = campaign.questionnaire.identities
    identity = None
    if keyed.identity not in ("", "0"):
        if not keyed.identity.isdigit() or not 1 <= int(keyed.identity) <= len(identities):
            raise PaperError(f"评议人员身份只能填 0–{len(identities)}。")
        identity = identities[int(keyed.identity) - 1].key
    return {"id": sheet_id, "token": token, "unit": keyed.unit,
            "created_at": datetime.now(timezone.utc).isoformat(), "answers": answers,
            "comment": keyed.comment, "identity": identity,
            "meta": {"sheet_no": keyed.sheet_no, "keyed_by": user.username}}


def paper_token(session: Session, signer: LinkSigner, campaign: Campaign) -> str:
    """The signed token of the campaign's 问卷调查 link covering every unit (made once)."""
    wanted = {u.id for u in campaign.units}
    links = session.scalars(select(Link).where(
        Link.campaign_id == campaign.id, Link.channel == Channel.SURVEY,
        Link.purpose == "poster", Link.revoked_at.is_(None), Link.max_age.is_(None))
        .order_by(Link.id.desc()))
    for link in links:
        if wanted <= {u.id for u in link.units}:
            return sign_link(signer, link)
    link = issue_link(session, campaign, list(campaign.units), Channel.SURVEY)
    session.commit()
    return sign_link(signer, link)


def store_sheet(session: Session, signer: LinkSigner, campaign: Campaign, keyed: Keyed,
                user: User) -> ItemResult:
    """Merge one keyed sheet into the store; the result says stored, duplicate or conflict.

    :raise PaperError: the digits do not fit the questionnaire.
    """
    token = paper_token(session, signer, campaign)
    item = to_item(campaign, token, keyed, user,
                   sheet_uuid(session, signer, campaign.id, keyed.sheet_no))
    session.rollback()  # the merge runs its own transaction
    (result,) = merge_batch(session, signer, {"device_id": f"paper-{user.id}",
                                              "responses": [item]})
    return result


def stage_sheet(session: Session, campaign: Campaign, keyed: Keyed, pass_no: int,
                user: User) -> PaperEntry:
    """Keep one keying of a sheet in double-entry mode; a pass is keyed once per sheet.

    :raise PaperError: the pass was already keyed, or the second pass is by the first keyer.
    """
    if pass_no not in (1, 2):
        raise PaperError("录入轮次只能是第 1 遍或第 2 遍。")
    entry = PaperEntry(campaign_id=campaign.id, sheet_no=keyed.sheet_no, pass_no=pass_no,
                       payload=keyed.payload(), keyed_by_id=user.id)
    with write_transaction(session):
        other = session.scalar(select(PaperEntry).where(
            PaperEntry.campaign_id == campaign.id, PaperEntry.sheet_no == keyed.sheet_no,
            PaperEntry.pass_no == 3 - pass_no))
        if other is not None and other.keyed_by_id == user.id:
            raise PaperError("双人录入：同一份问卷的两遍须由不同的人录入。")
        try:
            with session.begin_nested():  # the unique key decides two keyers racing
                session.add(entry)
        except IntegrityError as exc:
            raise PaperError(f"问卷 {keyed.sheet_no} 的第 {pass_no} 遍已录入过。") from exc
    return entry


@dataclass(frozen=True)
class Mismatch:
    sheet_no: str
    first: dict[str, str] | None
    second: dict[str, str] | None
    fields: tuple[str, ...]


FIELD_LABELS = {"unit": "评议对象", "digits": "评价", "identity": "身份", "comment": "意见建议"}


def double_entry_state(session: Session, campaign: Campaign,
                       unit_codes: Collection[str] | None = None,
                       ) -> tuple[list[Mismatch], list[str]]:
    """(sheets whose two keyings differ or lack a pass, sheets that agree and await merging).

    `unit_codes` limits both lists to sheets whose every keyed pass names one of those units (a
    secretary's): another unit's ratings and comments are never shown to them. None: all sheets.
    """
    by_sheet: dict[str, dict[int, PaperEntry]] = {}
    for entry in session.scalars(select(PaperEntry).where(PaperEntry.campaign_id == campaign.id)
                                 .order_by(PaperEntry.sheet_no)):
        by_sheet.setdefault(entry.sheet_no, {})[entry.pass_no] = entry
    mismatches, agreed = [], []
    for sheet_no, passes in by_sheet.items():
        if unit_codes is not None and any(p.payload.get("unit") not in unit_codes
                                          for p in passes.values()):
            continue
        first, second = passes.get(1), passes.get(2)
        if first and second and first.payload == second.payload:
            if first.merged_at is None:
                agreed.append(sheet_no)
            continue
        differing = tuple(label for key, label in FIELD_LABELS.items()
                          if first and second and first.payload.get(key) != second.payload.get(key))
        mismatches.append(Mismatch(sheet_no, first.payload if first else None,
                                   second.payload if second else None, differing))
    return mismatches, agreed


def merge_agreed(session: Session, signer: LinkSigner, campaign: Campaign,
                 user: User) -> list[tuple[str, ItemResult | str]]:
    """Send every agreed, unmerged sheet to the store; returns (sheet, result or error)."""
    _, agreed = double_entry_state(session, campaign)
    outcomes: list[tuple[str, ItemResult | str]] = []
    for sheet_no in agreed:
        entry = session.scalar(select(PaperEntry).where(
            PaperEntry.campaign_id == campaign.id, PaperEntry.sheet_no == sheet_no,
            PaperEntry.pass_no == 1))
        assert entry is not None
        keyed = Keyed(sheet_no, **entry.payload)
        try:
            result = store_sheet(session, signer, campaign, keyed, user)
        except PaperError as exc:
            outcomes.append((sheet_no, exc.message))
            continue
        if result.status != "rejected":
            session.execute(update(PaperEntry)
                            .where(PaperEntry.campaign_id == campaign.id,
                                   PaperEntry.sheet_no == sheet_no)
                            .values(merged_at=datetime.now(timezone.utc)))
            session.commit()
        outcomes.append((sheet_no, result))
    return outcomes
