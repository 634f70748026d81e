"""Demo data: seed 000's questionnaire over a dozen units in seed 001's four categories."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from sync.campaigns import add_units, create_campaign, create_visit
from sync.links import issue_link
from sync.models import Campaign, Channel, Link, Role, User

DEMO_TITLE = "2026年度基层群众评议机关作风"

DEMO_UNITS = {
    "党群工作部门": [("DQ01", "组织部"), ("DQ02", "宣传部"), ("DQ03", "统战部")],
    "政府工作部门": [("ZF01", "发展改革委"), ("ZF02", "市场监管局"), ("ZF03", "人社局"),
                 ("ZF04", "行政审批服务局")],
    "企事业单位": [("QY01", "供电公司"), ("QY02", "水务集团"), ("QY03", "公共交通公司")],
    "中直单位": [("ZZ01", "税务局"), ("ZZ02", "气象局")],
}


@dataclass
class DemoResult:
    campaign: Campaign
    poster_link: Link
    visit_link: Link
    admin_username: str
    admin_password: str


def load_demo(session: Session, password_file: Path | None = None) -> DemoResult:
    """Create (or reuse) the demo campaign, its links and an admin.

    The admin's password is made on the first run and kept in `password_file` (mode 0600), so
    later runs print the same login instead of replacing it.
    """
    campaign = session.scalar(select(Campaign).where(Campaign.title == DEMO_TITLE))
    if campaign is None:
        today = date.today()
        campaign = create_campaign(
            session, DEMO_TITLE, today.year, "jiguan5",
            opens_on=today - timedelta(days=7), closes_on=today + timedelta(days=60),
            supervision_phone="0791-83869993")
        units = add_units(session, campaign, DEMO_UNITS)
        for unit in units:
            issue_link(session, campaign, [unit], Channel.ONLINE)
        visit = create_visit(session, campaign, "红星村", "李明", today)
        issue_link(session, campaign, units[:4], Channel.VISIT, visit)
    poster = session.scalar(select(Link).where(Link.campaign_id == campaign.id,
                                               Link.purpose == "poster").order_by(Link.id))
    visit_link = session.scalar(select(Link).where(Link.campaign_id == campaign.id,
                                                   Link.purpose == "visit").order_by(Link.id))
    admin = session.scalar(select(User).where(User.username == "admin"))
    kept = password_file.read_text().strip() if password_file and password_file.exists() else ""
    if admin is not None and kept and check_password_hash(admin.password_hash, kept):
        password = kept
    else:
        password = secrets.token_urlsafe(9)
        if admin is None:
            admin = User(username="admin", role=Role.ADMIN, display_name="系统管理员")
            session.add(admin)
        admin.password_hash = generate_password_hash(password)
        if password_file is not None:
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.touch(mode=0o600)
            password_file.write_text(password + "\n")
    session.flush()
    assert poster is not None and visit_link is not None
    return DemoResult(campaign, poster, visit_link, "admin", password)
