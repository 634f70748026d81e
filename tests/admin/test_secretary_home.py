"""A secretary's home: per unit, today's ratings, 满意率, open and overdue work, appeal news."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from sync.clock import local_today
from sync.followups.appeals import decide_appeal, file_appeal
from sync.followups.models import AppealKind
from sync.models import FollowUp, Response, Role


def test_home_shows_each_unit_at_a_glance(client, make_campaign, make_link, make_item, make_user,
                                          login, session):
    campaign = make_campaign()
    units = {u.code: u for u in campaign.units}
    _, t1 = make_link(campaign, codes=["ZF01"])
    _, t2 = make_link(campaign, codes=["ZF02"])
    items = [make_item(t1, comment="慢"), make_item(t1, level="unsatisfied", comment="差"),
             make_item(t1, level="basic"), make_item(t2, comment="别的单位的意见")]
    for n, item in enumerate(items):
        client.post("/api/v1/sync", json={"device_id": f"p{n}", "responses": [item]})
    admin = make_user("admin")
    secretary = make_user("zf01", Role.SECRETARY, units=[units["ZF01"], units["ZZ01"]])
    late = session.scalar(select(FollowUp).join(Response).where(Response.comment == "慢"))
    late.due_on = local_today() - timedelta(days=2)
    session.commit()
    bad = session.scalar(select(Response).where(Response.comment == "差"))
    appeal = file_appeal(session, bad, secretary, AppealKind.MALICIOUS, "恶意", None)
    decide_appeal(session, appeal, admin, True, "核实为恶意差评")
    session.commit()

    login("zf01")
    html = client.get("/admin/").get_data(as_text=True)
    card = html.split('aria-label="市场监管局"')[1].split("</section>")[0]
    figures = re.findall(r"<b[^>]*>([^<]*)</b><span>([^<]*)</span>", card)
    # three ratings today, one excluded by the upheld appeal: two counted today, and
    # 满意 ×5 + 基本满意 ×5 of 10 counted answers: 100%
    assert figures == [("2", "今日计入"), ("100.0%", "满意率"), ("2", "待办整改"), ("1", "已逾期")]
    assert "申诉成立" in card and "核实为恶意差评" in card
    other = html.split('aria-label="税务局"')[1].split("</section>")[0]
    assert re.findall(r"<b[^>]*>([^<]*)</b><span>", other) == ["0", "—", "0", "0"]
    assert "人社局" not in html and "别的单位的意见" not in html
