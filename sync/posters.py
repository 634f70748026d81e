"""Choose the links a campaign's posters and visit cards print, and describe them as plain specs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from qr.cards import VisitCardSpec
from qr.codes import short_url
from qr.links import LinkPurpose
from qr.posters import PosterSpec

from .audit import link_snapshot, record
from .links import issue_link
from .models import Campaign, Channel, Link, Unit, User, Visit


def poster_links(session: Session, campaign: Campaign) -> list[tuple[Unit, Link]]:
    """Return (unit, link) for every unit: its newest usable poster link, issued if it has none.

    Usable means a poster link for that unit alone, not revoked, with a short code and no
    lifetime limit (a poster stays taped up for months). New links are flushed, not committed.
    """
    links = session.scalars(
        select(Link)
        .where(Link.campaign_id == campaign.id, Link.purpose == LinkPurpose.POSTER.value,
               Link.revoked_at.is_(None), Link.short_code.is_not(None), Link.max_age.is_(None))
        .options(selectinload(Link.units))
        .order_by(Link.created_at, Link.id)
    ).all()
    newest: dict[int, Link] = {}
    for link in links:  # oldest first, so the newest one wins
        if len(link.units) == 1:
            newest[link.units[0].id] = link
    pairs = []
    for unit in campaign.units:
        if unit.archived_at is not None:  # archived: no new poster
            continue
        link = newest.get(unit.id) or issue_link(session, campaign, [unit], Channel.ONLINE)
        pairs.append((unit, link))
    return pairs


def issue_poster_links(session: Session, campaign: Campaign, actor: User | None,
                       ip: str | None = None) -> list[Link]:
    """Issue the poster links units lack and audit them in one `link.create_posters` row.

    Every path that prints or lists posters calls this first, so no poster link is ever issued
    without a record of who caused it. Returns the new links (flushed, not committed).
    """
    known = set(session.scalars(select(Link.id).where(Link.campaign_id == campaign.id)))
    issued = [link for _, link in poster_links(session, campaign) if link.id not in known]
    if issued:
        record(session, actor=actor, action="link.create_posters", target_type="campaign",
               target_id=campaign.id, campaign_id=campaign.id, ip=ip,
               after={"links": {link.id: link_snapshot(link) for link in issued}})
    return issued


def visit_links(session: Session, campaign: Campaign) -> list[Link]:
    """Return the campaign's unrevoked visit links with a short code, by visit date and place."""
    return list(session.scalars(
        select(Link)
        .join(Visit, Link.visit_id == Visit.id)
        .where(Link.campaign_id == campaign.id, Link.purpose == LinkPurpose.VISIT.value,
               Link.revoked_at.is_(None), Link.short_code.is_not(None))
        .options(selectinload(Link.units), selectinload(Link.visit))
        .order_by(Visit.visit_date, Visit.place, Link.id)
    ).all())


def poster_specs(session: Session, campaign: Campaign, base_url: str) -> list[PosterSpec]:
    """Return one poster spec per unit, in unit code order (issues missing poster links)."""
    return [
        PosterSpec(
            campaign_title=campaign.title,
            unit_code=unit.code,
            unit_name=unit.name,
            url=_short_url(base_url, link),
            category=unit.category.name,
            supervision_phone=campaign.supervision_phone,
            opens_on=campaign.opens_on,
            closes_on=campaign.closes_on,
        )
        for unit, link in poster_links(session, campaign)
    ]


def visit_card_specs(session: Session, campaign: Campaign, base_url: str) -> list[VisitCardSpec]:
    """Return one card spec per unrevoked visit link."""
    cards = []
    for link in visit_links(session, campaign):
        visit = link.visit
        assert visit is not None  # the join above guarantees it
        cards.append(VisitCardSpec(
            campaign_title=campaign.title,
            place=visit.place,
            url=_short_url(base_url, link),
            staff_name=visit.staff_name,
            visit_date=visit.visit_date,
            unit_names=tuple(u.name for u in link.units),
            supervision_phone=campaign.supervision_phone,
        ))
    return cards


def _short_url(base_url: str, link: Link) -> str:
    assert link.short_code, "issue_link assigns a short code; the queries skip links without one"
    return short_url(base_url, link.short_code)
