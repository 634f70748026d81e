"""Poster mode's "one rating per device per unit" rule, as the store sees it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .links import ResolvedLink
from .models import Channel, Response, Unit


def units_rated_by_device(session: Session, link: ResolvedLink, device_id: str | None) -> set[str]:
    """Return the codes of the link's units this device already rated on a poster (线上评议),
    or, for a pool rater's personal link, the units that rater already rated (on any phone)."""
    if link.link.rater_id is not None:
        return set(session.scalars(
            select(Unit.code).join(Response, Response.unit_id == Unit.id)
            .where(Response.rater_id == link.link.rater_id)))
    if not device_id or link.channel != Channel.ONLINE:
        return set()
    rows = session.scalars(
        select(Unit.code).join(Response, Response.unit_id == Unit.id)
        .where(Response.device_id == device_id, Response.channel == Channel.ONLINE,
               Response.unit_id.in_([u.id for u in link.units]))
        .distinct()
    )
    return set(rows)
