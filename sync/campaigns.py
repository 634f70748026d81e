"""Operations that set up campaigns: plain functions that add rows and flush."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import (
    Campaign,
    CampaignStatus,
    Category,
    Response,
    Unit,
    Visit,
    link_units,
)
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
    min_ratings: int = 30,
    min_seconds: int = 8,
) -> Campaign:
    """Create a campaign with a fresh questionnaire from a built-in template."""
    campaign = Campaign(
        title=title, year=year, opens_on=opens_on, closes_on=closes_on,
        supervision_phone=supervision_phone, bottom_n=bottom_n, status=status,
        min_ratings=min_ratings, min_seconds=min_seconds,
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


class SetupError(ValueError):
    """A set-up change was refused; the message (Chinese) tells the admin what to fix."""


def update_campaign(campaign: Campaign, **fields: object) -> None:
    """Change a campaign's title, year, dates, supervision phone, bottom N, min seconds, status.

    :raise SetupError: the close date is before the open date.
    """
    allowed = {"title", "year", "opens_on", "closes_on", "supervision_phone", "bottom_n",
               "min_ratings", "min_seconds", "status"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unknown campaign fields: {sorted(unknown)}")
    opens_on = fields.get("opens_on", campaign.opens_on)
    closes_on = fields.get("closes_on", campaign.closes_on)
    if isinstance(opens_on, date) and isinstance(closes_on, date) and closes_on < opens_on:
        raise SetupError("结束日期不能早于开始日期。")
    for name, value in fields.items():
        setattr(campaign, name, value)


def add_category(session: Session, campaign: Campaign, name: str) -> Category:
    """Add a ranking group to the campaign.

    :raise SetupError: a category of that name exists.
    """
    name = name.strip()
    if any(c.name == name for c in campaign.categories):
        raise SetupError(f"类别“{name}”已存在。")
    category = Category(name=name, position=len(campaign.categories), campaign=campaign)
    session.add(category)
    session.flush()
    return category


def rename_category(campaign: Campaign, category: Category, name: str) -> None:
    """Rename a category.

    :raise SetupError: another category has that name.
    """
    name = name.strip()
    if any(c.name == name and c.id != category.id for c in campaign.categories):
        raise SetupError(f"类别“{name}”已存在。")
    category.name = name


def unit_code_taken(campaign: Campaign, code: str, except_unit: Unit | None = None) -> bool:
    """Whether another unit of the campaign already uses `code`."""
    return any(u.code == code and u is not except_unit for u in campaign.units)


def add_unit(session: Session, campaign: Campaign, category: Category, code: str,
             name: str) -> Unit:
    """Add one unit.

    :raise SetupError: the code is taken in this campaign.
    """
    code = code.strip()
    if unit_code_taken(campaign, code):
        raise SetupError(f"单位代码“{code}”已存在。")
    unit = Unit(code=code, name=name.strip(), category=category, campaign=campaign)
    session.add(unit)
    session.flush()
    return unit


def update_unit(session: Session, unit: Unit, category: Category, code: str, name: str) -> None:
    """Rename or move a unit; its code is fixed once links or ratings name it.

    :raise SetupError: the code is taken, or would orphan printed links (the signed token carries
        the code) or stored ratings.
    """
    code = code.strip()
    if code != unit.code:
        if unit_code_taken(unit.campaign, code, except_unit=unit):
            raise SetupError(f"单位代码“{code}”已存在。")
        has_links = session.scalar(select(link_units.c.link_id)
                                   .where(link_units.c.unit_id == unit.id).limit(1))
        has_ratings = session.scalar(select(Response.id).where(Response.unit_id == unit.id)
                                     .limit(1))
        if has_links is not None or has_ratings is not None:
            raise SetupError("该单位已发放评议链接或已有评议结果，不能修改单位代码"
                             "（已印制的二维码会失效）。")
    unit.code = code
    unit.name = name.strip()
    unit.category = category
    session.flush()

