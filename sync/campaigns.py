"""Operations that set up campaigns: plain functions that add rows and flush."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from .models import Campaign, CampaignStatus, Category, Unit, Visit
from .templates import build_questionnaire


def create_campaign(
    session: Session,
    title: str,
    year: int,
    template_key: str = "jiguan5",
    opens_on: date | None = None,
    closes_on: date | None = None,
    supervision_phone: str | None = None,
    bottom_n: int = 2,
    status: CampaignStatus = CampaignStatus.OPEN,
) -> Campaign:
    """Create a campaign with a fresh questionnaire from a built-in template."""
    campaign = Campaign(
        title=title, year=year, opens_on=opens_on, closes_on=closes_on,
        supervision_phone=supervision_phone, bottom_n=bottom_n, status=status,
        questionnaire=build_questionnaire(session, template_key),
    )
    session.add(campaign)
    session.flush()
    return campaign


def add_units(session: Session, campaign: Campaign,
              units_by_category: dict[str, list[tuple[str, str]]]) -> list[Unit]:
    """Add (code, name) units grouped by category name, creating categories as needed."""
    existing = {c.name: c for c in campaign.categories}
    added = []
    for category_name, units in units_by_category.items():
        category = existing.get(category_name)
        if category is None:
            category = Category(name=category_name, position=len(existing), campaign=campaign)
            session.add(category)
            existing[category_name] = category
        for code, name in units:
            unit = Unit(code=code, name=name, category=category, campaign=campaign)
            session.add(unit)
            added.append(unit)
    session.flush()
    return added


def create_visit(session: Session, campaign: Campaign, place: str,
                 staff_name: str | None = None, visit_date: date | None = None) -> Visit:
    """Record a field trip (走访) that a visit link will collect ratings for."""
    visit = Visit(campaign_id=campaign.id, place=place, staff_name=staff_name,
                  visit_date=visit_date)
    session.add(visit)
    session.flush()
    return visit
