"""Call-back phones (实名回访): who may see one, and nobody else."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import FollowUp, User
from .models import ResponseContact


def may_see_contact(user: User, follow_up: FollowUp) -> bool:
    """Admins, and secretaries of the unit that owns the follow-up (not of the rated unit)."""
    return user.is_admin or any(u.id == follow_up.owner_unit_id for u in user.units)


def contact_for(session: Session, user: User, follow_up: FollowUp) -> str | None:
    """The rater's phone when the user may see it and one was given."""
    if not may_see_contact(user, follow_up):
        return None
    return session.scalar(select(ResponseContact.phone)
                          .where(ResponseContact.response_id == follow_up.response_id))
