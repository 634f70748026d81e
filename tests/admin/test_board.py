"""The public board: off by default, numbers only — no comment text, no phone, embeddable."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta

from sqlalchemy import select

from collector.admin.followups.board import board_token
from sync.audit import AuditEntry
from sync.clock import local_today
from sync.models import FollowUp, FollowUpStatus
from sync.programmes.deductions import add_deduction
from sync.programmes.programme import apply_programme, parse_programme

from .conftest import csrf_from

PLANTED = "独一无二的意见原文QZ7"
PHONE = "13955550000"


def _rate(client, make_link, make_item, campaign):  # type: ignore[no-untyped-def]
    _, t1 = make_link(campaign, codes=["ZF01"])
    _, t2 = make_link(campaign, codes=["ZF02"])
    items = [make_item(t1, comment=PLANTED, contact=PHONE), make_item(t1, level="basic"),
             make_item(t2, level="unsatisfied", comment="差"), make_item(t2)]
    for n, item in enumerate(items):  # a phone per rater: poster repeats would not count
        assert client.post("/api/v1/sync", json={"device_id": f"d{n}", "responses": [item]}) \
            .json["results"][0]["status"] == "stored"


def test_board_is_off_by_default_and_tokens_cannot_be_forged(
        admin_client, make_campaign, make_link, make_item, app):
    campaign = make_campaign()
    _rate(admin_client, make_link, make_item, campaign)
    with app.test_request_context():
        token = board_token(campaign)
    anonymous = app.test_client()
    reply = anonymous.get(f"/b/{token}")
    assert reply.status_code == 404 and "尚未公开" in reply.get_data(as_text=True)
    for forged in ("1", token[:-2] + "xx", "x" * 500):
        assert anonymous.get(f"/b/{forged}").status_code == 404


def test_board_shows_rankings_and_progress_but_no_text_or_phone(
        admin_client, make_campaign, make_link, make_item, app, session):
    campaign = make_campaign()
    _rate(admin_client, make_link, make_item, campaign)
    settings = f"/admin/campaigns/{campaign.id}/followup-settings"
    reply = admin_client.post(settings, data={
        "followup_days": 5, "followup_levels": ["unsatisfied"], "board_enabled": "y",
        "csrf_token": csrf_from(admin_client, settings)})
    assert reply.status_code == 302
    entry = session.scalar(select(AuditEntry).where(
        AuditEntry.action == "campaign.followup_settings"))
    assert entry.before["board_enabled"] is False and entry.after["board_enabled"] is True
    page = admin_client.get(settings).get_data(as_text=True)
    with app.test_request_context():
        token = board_token(campaign)
    assert f"/b/{token}" in page and "&lt;iframe" in page

    # one follow-up answered, one overdue
    follow_ups = session.scalars(select(FollowUp).order_by(FollowUp.id)).all()
    assert len(follow_ups) == 2
    follow_ups[0].status, follow_ups[0].closed_on = FollowUpStatus.DONE, local_today()
    follow_ups[0].reply = "已答复：" + PLANTED
    follow_ups[1].due_on = local_today() - timedelta(days=1)
    session.commit()

    anonymous = app.test_client()
    reply = anonymous.get(f"/b/{token}", headers={"Accept-Encoding": "gzip"})
    assert reply.status_code == 200 and reply.headers["Content-Encoding"] == "gzip"
    assert len(reply.data) < 14 * 1024
    html = gzip.decompress(reply.data).decode()
    assert PLANTED not in html and PHONE not in html and "差" not in html.split("<main>")[1] \
        .replace("满意", "").replace("逾期", "")
    assert "市场监管局" in html and "人社局" in html and "政府工作部门" in html
    # ZF01: 100 and 60 → 80.00, 满意率 100%; ZF02: 0 and 100 → 50.00
    body = html.split("政府工作部门")[1]
    assert body.index("市场监管局") < body.index("人社局")
    assert "80.00" in body and "50.00" in body and "100.0%" in body
    # no programme: the notices' default grade bands (满意 ≥ 90, 基本满意 ≥ 60, else 不满意)
    assert re.search(r"80\.00</td><td>基本满意</td>", body) and \
        re.search(r"50\.00</td><td>不满意</td>", body)
    assert '<b>2</b><span>收到</span>' in html and '<b>1</b><span>已答复</span>' in html
    assert '<b class="warn">1</b><span>逾期</span>' in html
    # embeddable: the board opts out of frame protection
    assert "frame-ancestors *" in reply.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in reply.headers
    assert "public" in reply.headers["Cache-Control"]

    # hidden again: gone at once
    admin_client.post(settings, data={"followup_days": 5, "followup_levels": ["unsatisfied"],
                                      "csrf_token": csrf_from(admin_client, settings)})
    assert anonymous.get(f"/b/{token}").status_code == 404


def test_settings_are_admin_only_and_validated(client, admin_client, make_campaign, make_user,
                                               login, session):
    campaign = make_campaign()
    settings = f"/admin/campaigns/{campaign.id}/followup-settings"
    reply = admin_client.post(settings, data={"followup_days": 40, "followup_levels": ["nope"],
                                              "csrf_token": csrf_from(admin_client, settings)})
    assert reply.status_code == 422
    text = reply.get_data(as_text=True)
    assert "1 到 22" in text and "不是有效的选项" in text
    zf01 = next(u for u in campaign.units if u.code == "ZF01")
    from sync.models import Role
    make_user("zf01", Role.SECRETARY, units=[zf01])
    client.post("/admin/logout", data={"csrf_token": csrf_from(client, "/admin/followups")})
    login("zf01")
    assert client.get(settings).status_code == 403


def test_board_shows_the_programmes_final_scores_and_grades(
        admin_client, make_campaign, make_link, make_item, app, session):
    """With a scoring programme the board shows scores after deductions, and its grades."""
    campaign = make_campaign()
    _rate(admin_client, make_link, make_item, campaign)
    apply_programme(session, campaign, parse_programme({
        "methods": [{"key": "hall", "name": "窗口测评", "weight": 1, "channels": ["online"]}],
        "deduction_caps": {"媒体": 5}, "grades": [{"label": "优秀", "min": 75},
                                                {"label": "一般", "min": None}]}))
    add_deduction(session, campaign, "ZF01", "媒体", "8", "媒体曝光", None, None, "test")
    campaign.board_enabled = True
    session.commit()
    with app.test_request_context():
        token = board_token(campaign)
    html = app.test_client().get(f"/b/{token}").get_data(as_text=True)
    body = html.split("政府工作部门")[1]
    # ZF01: 80 − 5 (media capped at 5) = 75.00 → 优秀; ZF02: 50.00 → 一般
    assert re.search(r"75\.00</td><td>优秀</td>", body), body
    assert re.search(r"50\.00</td><td>一般</td>", body), body
    assert PLANTED not in html and PHONE not in html
