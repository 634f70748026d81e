"""Corrections and voids of a rating (issue 12, item 2): new versions, never edits.

Every version reaches the store and stays; the tally counts the latest version once; only the
phone and link that made a rating may replace it; a version may arrive before its original.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from collector.auth import session_stamp
from sync.models import Channel, Response
from sync.reports import campaign_tally
from sync.versions import CORRECTION, STALE_VERSION, VOID

PHONE = "phone-of-field-worker"


@pytest.fixture
def visit(make_campaign, make_link):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01", "ZF02"], Channel.VISIT, "青山村")
    return campaign, token


def sync(client, items, device=PHONE):  # type: ignore[no-untyped-def]
    reply = client.post("/api/v1/sync", json={"device_id": device, "responses": items})
    assert reply.status_code == 200, reply.json
    return [(r["status"], r.get("code")) for r in reply.json["results"]]


def scores(session, campaign) -> dict[str, tuple[int, float | None]]:  # type: ignore[no-untyped-def]
    session.commit()  # a fresh snapshot: other requests wrote meanwhile
    tally = campaign_tally(session, campaign, compare=False)
    return {u.code: (u.respondents, u.score) for u in tally.units()}


def test_correction_and_void_keep_every_version_and_count_the_latest(client, session, visit,
                                                                    make_item):
    campaign, token = visit
    original = make_item(token, "unsatisfied", unit="ZF01", comment="办事慢")
    other = make_item(token, "basic", unit="ZF02")
    assert sync(client, [original, other]) == [("stored", None)] * 2
    assert scores(session, campaign)["ZF01"] == (1, 0)

    fixed = make_item(token, "satisfied", unit="ZF01", replaces=original["id"])
    assert sync(client, [fixed]) == [("stored", None)]
    assert scores(session, campaign)["ZF01"] == (1, 100)  # the latest, once
    assert sync(client, [fixed]) == [("duplicate", None)]  # a resend changes nothing

    void = make_item(token, unit="ZF02", answers={}, identity=None, void=True,
                     void_reason="录入时选错了单位", replaces=other["id"])
    assert sync(client, [void]) == [("stored", None)]
    assert scores(session, campaign)["ZF02"] == (0, None)

    rows = {r.uuid: r for r in session.scalars(select(Response))}
    assert len(rows) == 4  # nothing deleted or edited in place
    assert rows[original["id"]].superseded_by == fixed["id"]
    assert rows[original["id"]].comment == "办事慢" and len(rows[original["id"]].answers) == 5
    assert rows[fixed["id"]].flags == [CORRECTION] and rows[fixed["id"]].superseded_at is None
    assert rows[void["id"]].is_void and rows[void["id"]].void_reason == "录入时选错了单位"
    assert rows[void["id"]].flags == [VOID] and rows[other["id"]].superseded_by == void["id"]


def test_a_correction_arriving_before_its_original(client, session, visit, make_item):
    campaign, token = visit
    original = make_item(token, "unsatisfied", unit="ZF01")
    fixed = make_item(token, "satisfied", unit="ZF01", replaces=original["id"])
    assert sync(client, [fixed]) == [("stored", None)]
    assert sync(client, [original]) == [("stored", None)]
    assert scores(session, campaign)["ZF01"] == (1, 100)
    session.expire_all()
    first = session.scalar(select(Response).where(Response.uuid == original["id"]))
    assert first.superseded_by == fixed["id"]


def test_chain_and_stale_second_correction(client, session, visit, make_item):
    campaign, token = visit
    a = make_item(token, "unsatisfied", unit="ZF01")
    b = make_item(token, "basic", unit="ZF01", replaces=a["id"])
    c = make_item(token, "satisfied", unit="ZF01", replaces=b["id"])
    assert sync(client, [a, b, c]) == [("stored", None)] * 3
    assert scores(session, campaign)["ZF01"] == (1, 100)
    stale = make_item(token, "unsatisfied", unit="ZF01", replaces=a["id"])
    assert sync(client, [stale]) == [("stored", None)]
    assert scores(session, campaign)["ZF01"] == (1, 100)
    session.expire_all()
    row = session.scalar(select(Response).where(Response.uuid == stale["id"]))
    assert STALE_VERSION in row.flags and row.superseded_at is not None


@pytest.mark.parametrize("case", ["other phone", "other link", "poster", "no device", "self",
                                  "void without reason"])
def test_who_may_replace_a_rating(client, session, visit, make_item, make_link, case):
    campaign, token = visit
    original = make_item(token, "unsatisfied", unit="ZF01")
    assert sync(client, [original]) == [("stored", None)]
    device, replacing = PHONE, make_item(token, "satisfied", unit="ZF01",
                                         replaces=original["id"])
    if case == "other phone":
        device = "someone-else"
    elif case == "other link":
        replacing["token"] = make_link(campaign, ["ZF01"], Channel.VISIT, "白水村")[1]
    elif case == "poster":
        replacing["token"] = make_link(campaign, ["ZF01"])[1]
    elif case == "no device":
        device = None
    elif case == "self":
        replacing["replaces"] = replacing["id"]
    else:
        replacing.update(answers={}, void=True, void_reason="  ")
    [(status, code)] = sync(client, [replacing], device)
    assert status == "rejected" and code, code
    assert scores(session, campaign)["ZF01"] == (1, 0)  # the original still counts


def test_original_and_correction_racing_in_two_requests(app, session, visit, make_item):
    """Two uploads of one phone at once — the original in one, its correction in the other —
    leave exactly the correction counted, whichever commits first."""
    campaign, token = visit
    for _ in range(5):
        original = make_item(token, "unsatisfied", unit="ZF01")
        fixed = make_item(token, "satisfied", unit="ZF01", replaces=original["id"])
        barrier = threading.Barrier(2)
        results: list = []

        def upload(item, barrier=barrier, results=results):  # type: ignore[no-untyped-def]
            with app.test_client() as own:
                barrier.wait()
                results.append(sync(own, [item]))

        threads = [threading.Thread(target=upload, args=(i,)) for i in (original, fixed)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == [[("stored", None)], [("stored", None)]]
    assert scores(session, campaign)["ZF01"] == (5, 100)
    assert session.scalar(select(func.count()).select_from(Response)
                          .where(Response.superseded_at.is_(None))) == 5


def test_admins_see_the_history_on_the_unit_page(client, session, visit, make_item):
    from sync.models import Role, User

    campaign, token = visit
    original = make_item(token, "unsatisfied", unit="ZF01")
    void = make_item(token, unit="ZF01", answers={}, identity=None, void=True,
                     void_reason="误录", replaces=original["id"])
    assert sync(client, [original, void]) == [("stored", None)] * 2
    admin = User(username="boss", role=Role.ADMIN, password_hash="x")
    session.add(admin)
    session.commit()
    with client.session_transaction() as sess:
        sess["user_id"] = admin.id
        sess["stamp"] = session_stamp(admin)
    unit = next(u for u in campaign.units if u.code == "ZF01")
    html = client.get(f"/admin/campaigns/{campaign.id}/units/{unit.id}").get_data(as_text=True)
    assert "更正与作废记录" in html and "误录" in html
    assert f"已被 {void['id'][:8]} 替换，不计入统计" in html


def test_running_totals_follow_every_version(client, session, visit, make_item):
    """Corrections, voids, a late original and a stale version leave the running totals equal
    to a rebuild from the raw rows (which counts through counted())."""
    from reports.test_totals import stored_totals

    from sync.reports.totals import rebuild_totals

    campaign, token = visit
    a = make_item(token, "unsatisfied", unit="ZF01")
    b = make_item(token, "basic", unit="ZF01", replaces=a["id"])
    late = make_item(token, "unsatisfied", unit="ZF02")
    fix_late = make_item(token, "satisfied", unit="ZF02", replaces=late["id"])
    gone = make_item(token, "basic", unit="ZF02")
    assert sync(client, [a]) == [("stored", None)]
    assert sync(client, [b, fix_late, gone]) == [("stored", None)] * 3
    assert sync(client, [late]) == [("stored", None)]  # arrives after its correction
    void = make_item(token, unit="ZF02", answers={}, identity=None, void=True,
                     void_reason="重复录入", replaces=gone["id"])
    stale = make_item(token, "unsatisfied", unit="ZF01", replaces=a["id"])
    c = make_item(token, "satisfied", unit="ZF01", replaces=b["id"])
    assert sync(client, [void, stale, c]) == [("stored", None)] * 3
    running = stored_totals(session, campaign.id)
    rebuild_totals(session, [campaign.id])
    session.commit()
    assert stored_totals(session, campaign.id) == running
    assert scores(session, campaign)["ZF01"] == (1, 100)
    assert scores(session, campaign)["ZF02"] == (1, 100)


def test_an_excluded_rating_cannot_be_laundered_by_a_correction(client, session, visit,
                                                                make_item):
    """An admin's exclusion (fraud flag, upheld appeal) stands: the phone that made the rating
    cannot bring it back into the tally as a correction, and taking the exclusion back, or
    excluding a version already replaced, never counts a rating twice or not at all."""
    from sync.integrity.exclusions import exclude_response, include_response

    campaign, token = visit
    original = make_item(token, "unsatisfied", unit="ZF01")
    kept = make_item(token, "unsatisfied", unit="ZF02")
    assert sync(client, [original, kept]) == [("stored", None)] * 2

    def row(item):  # type: ignore[no-untyped-def]
        return session.scalar(select(Response).where(Response.uuid == item["id"]))

    exclude_response(session, row(original), reason="同一设备连续提交", actor=None)
    session.commit()
    assert scores(session, campaign)["ZF01"] == (0, None)
    fixed = make_item(token, "satisfied", unit="ZF01", replaces=original["id"])
    void = make_item(token, unit="ZF01", answers={}, identity=None, void=True,
                     void_reason="重复录入", replaces=original["id"])
    assert sync(client, [fixed, void]) == [("rejected", "version_excluded")] * 2
    assert scores(session, campaign)["ZF01"] == (0, None)
    include_response(session, row(original), reason="核实为真实评议", actor=None)
    session.commit()
    assert scores(session, campaign)["ZF01"] == (1, 0)

    # A replaced version stopped counting when it was replaced: its exclusion moves nothing.
    fixed_kept = make_item(token, "satisfied", unit="ZF02", replaces=kept["id"])
    assert sync(client, [fixed_kept]) == [("stored", None)]
    exclude_response(session, row(kept), reason="复核", actor=None)
    session.commit()
    assert scores(session, campaign)["ZF02"] == (1, 100)
    include_response(session, row(kept), reason="复核", actor=None)
    session.commit()
    assert scores(session, campaign)["ZF02"] == (1, 100)


def test_a_rating_excluded_while_its_correction_was_checked_stays_excluded(
        client, session, visit, make_item, monkeypatch):
    """The store's UPDATE is the last word (an admin may exclude between check and store)."""
    from sync.integrity.exclusions import exclude_response
    from sync.merge import prepare

    campaign, token = visit
    original = make_item(token, "unsatisfied", unit="ZF01")
    assert sync(client, [original]) == [("stored", None)]
    exclude_response(session, session.scalar(select(Response)), reason="刷票", actor=None)
    session.commit()
    monkeypatch.setattr(prepare, "check_version", lambda *args: None)  # the check saw it counted
    fixed = make_item(token, "satisfied", unit="ZF01", replaces=original["id"])
    assert sync(client, [fixed]) == [("stored", None)]  # kept for review ...
    assert scores(session, campaign)["ZF01"] == (0, None)  # ... and counted nowhere
