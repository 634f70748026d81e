"""Fixtures for results, exports and the dashboard: a hand-built campaign on seed 000's form.

Ratings go in through the real sync endpoint, so tallies are checked against what phones send.
Answers are written as five letters in seed 000's item order (工作效率, 服务态度, 业务水平,
工作作风, 廉洁自律): S = 满意 (100), B = 基本满意 (60), U = 不满意 (0). 工作效率 weighs 2, the
others 1, so an overall score is (2·效率 + 态度 + 业务 + 作风 + 廉洁) / 6.

Previous campaign (政府工作部门 only): ZF01 BBBBB = 60, ZF02 SSSSS = 100, ZF04 UUUUU = 0,
ZF05 SSSSS = 100 → ranks ZF02 1, ZF05 1, ZF01 3, ZF04 4; bottom two: ZF01, ZF04.

Current campaign (bottom_n = 2):
  政府工作部门  ZF01 SSSSS, BSSSS(rural) · ZF02 BBBBB(10 days ago), SSSSS · ZF03 SSBBB ·
                ZF04 UUUUU(home visit), SSSSS, BBBBB
  党群工作部门  DQ01 SSSSS · DQ02 BBBBB, UBBBB(rural) · DQ03 UUUUU · DQ04 (none)
  中直单位      ZZ01 SSSSS
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.security import generate_password_hash

from collector.auth import session_stamp
from collector.extensions import db
from sync.exports.jobs import run_next
from sync.models import Campaign, Channel, Role, Unit, User

ITEM_KEYS = ["efficiency", "attitude", "competence", "conduct", "integrity"]
LEVELS = {"S": "satisfied", "B": "basic", "U": "unsatisfied"}

CURRENT_UNITS = {
    "政府工作部门": [("ZF01", "市场监管局"), ("ZF02", "人社局"), ("ZF03", "住建局"),
                     ("ZF04", "交通局")],
    "党群工作部门": [("DQ01", "组织部"), ("DQ02", "宣传部"), ("DQ03", "统战部"),
                     ("DQ04", "政法委")],
    "中直单位": [("ZZ01", "税务局")],
}


@dataclass
class Rating:
    code: str
    letters: str
    identity: str = "enterprise"
    days_ago: int = 0
    channel: Channel = Channel.ONLINE
    comment: str = ""


CURRENT_RATINGS = [
    Rating("ZF01", "SSSSS"), Rating("ZF01", "BSSSS", identity="rural"),
    Rating("ZF02", "BBBBB", days_ago=10), Rating("ZF02", "SSSSS"),
    Rating("ZF03", "SSBBB"),
    Rating("ZF04", "UUUUU", channel=Channel.VISIT), Rating("ZF04", "SSSSS"),
    Rating("ZF04", "BBBBB"),
    Rating("DQ01", "SSSSS"),
    Rating("DQ02", "BBBBB"), Rating("DQ02", "UBBBB", identity="rural", comment="办事要跑好几趟"),
    Rating("DQ03", "UUUUU", comment="电话没人接"),
    Rating("ZZ01", "SSSSS"),
]

PREVIOUS_RATINGS = [Rating("ZF01", "BBBBB"), Rating("ZF02", "SSSSS"), Rating("ZF04", "UUUUU"),
                    Rating("ZF05", "SSSSS")]


@pytest.fixture
def rate(client, make_link):  # type: ignore[no-untyped-def]
    """Factory: submit ratings through /api/v1/sync, one link per (unit, channel)."""
    tokens: dict[tuple[int, str, Channel], str] = {}

    def submit(campaign: Campaign, ratings: list[Rating]) -> None:
        items = []
        for r in ratings:
            key = (campaign.id, r.code, r.channel)
            if key not in tokens:
                place = "青山村" if r.channel == Channel.VISIT else None
                tokens[key] = make_link(campaign, [r.code], r.channel, place)[1]
            created = datetime.now(timezone.utc) - timedelta(days=r.days_ago, minutes=1)
            items.append({"id": str(uuid.uuid4()), "token": tokens[key],
                          "created_at": created.isoformat(), "comment": r.comment,
                          "identity": r.identity,
                          "answers": {k: LEVELS[x] for k, x in zip(ITEM_KEYS, r.letters, strict=True)}})
        # Each rater scans the poster with a phone of their own (a device's repeat ratings of a
        # poster unit are kept but not tallied).
        for item in items:
            reply = client.post("/api/v1/sync", json={"device_id": str(uuid.uuid4()),
                                                      "responses": [item]})
            assert reply.status_code == 200, reply.json
            assert reply.json["results"][0]["status"] == "stored", reply.json

    return submit


@pytest.fixture
def hand_built(session, make_campaign, rate):  # type: ignore[no-untyped-def]
    """The campaign described in this module's docstring, with its previous round."""
    previous = make_campaign(title="2023年度评议", year=2023, units={"政府工作部门": [
        ("ZF01", "市场监管局"), ("ZF02", "人社局"), ("ZF04", "交通局"), ("ZF05", "统计局")]})
    rate(previous, PREVIOUS_RATINGS)
    campaign = make_campaign(title="2024年度评议", year=2024, units=CURRENT_UNITS)
    campaign.previous_campaign_id = previous.id
    campaign.questionnaire.items[0].weight = 2  # 工作效率
    session.commit()
    rate(campaign, CURRENT_RATINGS)
    return campaign


def unit_by_code(session, campaign: Campaign, code: str) -> Unit:  # type: ignore[no-untyped-def]
    return next(u for u in campaign.units if u.code == code)


@pytest.fixture
def make_user(session):  # type: ignore[no-untyped-def]
    """Factory: a committed admin or secretary with the given units."""

    def make(username: str, role: Role = Role.SECRETARY, units: list[Unit] | None = None) -> User:
        user = User(username=username, role=role, units=list(units or []),
                    password_hash=generate_password_hash("correct horse battery"))
        session.add(user)
        session.commit()
        return user

    return make


@pytest.fixture
def login(client):  # type: ignore[no-untyped-def]
    """Sign a user in by setting the session (robust to CSRF on the login form)."""

    def sign_in(user: User) -> None:
        with client.session_transaction() as sess:
            sess.clear()
            sess["user_id"] = user.id
            sess["stamp"] = session_stamp(user)

    return sign_in


TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:  # type: ignore[no-untyped-def]
    match = TOKEN_RE.search(client.get(url).get_data(as_text=True))
    assert match, url
    return match.group(1)


@pytest.fixture
def export_xlsx(app, client):  # type: ignore[no-untyped-def]
    """Factory: start an Excel export as the signed-in user, run its job, download the file.

    Returns the download reply; the job runs here (the app's runner thread is off in tests).
    """

    def export(campaign: Campaign, table: str, query: str = ""):  # type: ignore[no-untyped-def]
        token = csrf_token(client, f"/admin/campaigns/{campaign.id}/results")
        reply = client.post(f"/admin/campaigns/{campaign.id}/export.xlsx?table={table}{query}",
                            data={"csrf_token": token})
        assert reply.status_code == 303, reply.get_data(as_text=True)
        job_url = reply.headers["Location"]
        job_id = int(job_url.rstrip("/").rsplit("/", 1)[1])
        assert run_next(db.engine) == job_id
        db.session.rollback()  # the test shares the requests' session: see the runner's commit
        return download(client, f"{job_url}/download")

    return export


def download(client, url: str):  # type: ignore[no-untyped-def]
    """GET a file reply, read it whole and close it (send_file holds the file open)."""
    reply = client.get(url)
    reply.get_data()
    reply.close()
    return reply
