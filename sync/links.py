"""Issue, resolve, revoke and reissue links against the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qr.links import (
    CampaignClosed,
    CampaignNotOpen,
    CampaignUnknown,
    LinkClaims,
    LinkPurpose,
    LinkRevoked,
    LinkSigner,
    new_short_code,
)

from .clock import local_today
from .models import Campaign, CampaignStatus, Channel, Link, Unit, Visit


@dataclass
class ResolvedLink:
    """A verified token with the rows it names."""

    claims: LinkClaims
    link: Link
    campaign: Campaign
    units: list[Unit]
    visit: Visit | None

    @property
    def channel(self) -> Channel:
        return self.link.channel

    def unit_by_code(self, code: str | None) -> Unit | None:
        """Return the unit named by `code`, or the only unit when the link names one."""
        if code is None:
            return self.units[0] if len(self.units) == 1 else None
        return next((u for u in self.units if u.code == code), None)


def issue_link(
    session: Session,
    campaign: Campaign,
    units: list[Unit],
    channel: Channel = Channel.ONLINE,
    visit: Visit | None = None,
    max_age: int | None = None,
    rater_id: int | None = None,
) -> Link:
    """Create a link row for a poster, a village visit or (with `rater_id`) a pool rater's
    personal link; flushes to get its id."""
    if not units:
        raise ValueError("a link must cover at least one unit")
    if any(u.campaign_id != campaign.id for u in units):
        raise ValueError("every unit must belong to the campaign")
    link = Link(
        campaign_id=campaign.id,
        purpose=(LinkPurpose.PERSONAL if rater_id else
                 LinkPurpose.VISIT if visit else LinkPurpose.POSTER).value,
        rater_id=rater_id,
        channel=channel,
        visit=visit,
        units=list(units),
        max_age=max_age,
    )
    session.add(link)
    _assign_short_code(session, link)
    return link


def _assign_short_code(session: Session, link: Link, attempts: int = 8) -> None:
    """Give the link a unique short code, retrying on the rare collision."""
    for _ in range(attempts):
        link.short_code = new_short_code()
        try:
            with session.begin_nested():
                session.flush()
            return
        except IntegrityError:
            continue
    raise RuntimeError("could not find a free short code")


def sign_link(signer: LinkSigner, link: Link) -> str:
    """Return the signed token for a link row."""
    claims = LinkClaims(
        link_id=link.id,
        campaign_id=link.campaign_id,
        purpose=LinkPurpose(link.purpose),
        channel=link.channel.value,
        unit_codes=tuple(u.code for u in link.units),
        visit_id=link.visit_id,
        max_age=link.max_age,
    )
    return signer.sign(claims)


def revoke_link(session: Session, link: Link) -> None:
    """Stop a link from opening the form; responses already stored stay."""
    if link.revoked_at is None:
        link.revoked_at = datetime.now(timezone.utc)


def reissue_link(session: Session, link: Link) -> Link:
    """Revoke a link and issue a fresh one for the same units, channel and visit."""
    revoke_link(session, link)
    new = issue_link(session, link.campaign, list(link.units), link.channel, link.visit,
                     link.max_age)
    link.replaced_by_id = new.id
    return new


def resolve_token(
    session: Session, signer: LinkSigner, token: str, day: date | None = None,
    accept_closed: bool = False,
) -> ResolvedLink:
    """Verify a token and load what it names, checking the campaign is open on `day` (today).

    `accept_closed` also returns links that are revoked or expired, or whose campaign has closed:
    the caller then judges a late upload by its form receipt (sync.integrity.receipts).

    :raise LinkError: tampered, truncated, expired, revoked, unknown or closed campaign.
    """
    links: dict[int, Link | None] = {}

    def is_revoked(link_id: int) -> bool:
        links[link_id] = session.get(Link, link_id)
        found = links[link_id]
        return found is None or (found.is_revoked and not accept_closed)

    claims = signer.verify_any(token, is_revoked, accept_expired=accept_closed)
    link = links[claims.link_id]
    assert link is not None
    campaign = session.get(Campaign, claims.campaign_id)
    if campaign is None or link.campaign_id != campaign.id:
        raise CampaignUnknown("未找到该评议活动，请确认二维码来自正式张贴的海报。")
    check_campaign_open(campaign, day or local_today(), accept_closed)
    # An archived unit leaves the form; a late upload for it (accept_closed) is still judged.
    units = [u for u in link.units if u.code in claims.unit_codes
             and (accept_closed or u.archived_at is None)]
    if not units:
        raise LinkRevoked("该链接对应的评议对象已调整，请扫描最新的二维码。")
    return ResolvedLink(claims=claims, link=link, campaign=campaign, units=units,
                        visit=link.visit)


def check_campaign_open(campaign: Campaign, day: date, accept_closed: bool = False) -> None:
    """:raise CampaignClosed / CampaignNotOpen: when the campaign takes no ratings on `day`.

    `accept_closed` refuses only a campaign that has not begun (see `resolve_token`).
    """
    past_close = campaign.closes_on is not None and day > campaign.closes_on
    if (campaign.status == CampaignStatus.CLOSED or past_close) and not accept_closed:
        raise CampaignClosed(f"“{campaign.title}”评议已结束，感谢您的关注。")
    if campaign.status == CampaignStatus.DRAFT or (campaign.opens_on and day < campaign.opens_on):
        raise CampaignNotOpen(f"“{campaign.title}”评议尚未开始，请在活动开始后再来评议。")


def link_by_short_code(session: Session, code: str) -> Link | None:
    """Return the link for a short code (case-insensitive), revoked or not."""
    return session.scalar(select(Link).where(Link.short_code == code.strip().upper()))
