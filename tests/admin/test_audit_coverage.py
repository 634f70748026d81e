"""Changes that used to leave no audit row (or one without before/after), web and command line."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from sync.audit import ACTION_LABELS, AuditEntry
from sync.models import Link, Role, User
from sync.programmes.programme import apply_programme, parse_programme

SCORES_1 = "单位代码,得分\nZF01,90\nZF02,80\n"
SCORES_2 = "单位代码,得分\nZF01,70\nZZ01,60\n"
POOL_1 = "姓名,组别\n张伟,党代表\n李娜,人大代表\n"
POOL_2 = "姓名,组别\n王芳,政协委员\n"
HOOK = "https://hcp.example.gov.cn/in"
PROGRAMME = {"methods": [{"key": "third", "name": "第三方测评", "weight": 60, "source": "import"},
                         {"key": "hall", "name": "政务服务中心测评", "weight": 40,
                          "channels": ["online"]}], "bottom_n": 1}


def _rows(session) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _count(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


@pytest.fixture
def camp(make_campaign, session):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    apply_programme(session, campaign, parse_programme(PROGRAMME))
    session.commit()
    return campaign


def _poster_links(session, campaign) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(Link)
                          .where(Link.campaign_id == campaign.id)) or 0


# --- web ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["", "print", "units/ZF01.svg"])
def test_poster_pages_audit_the_links_they_issue(admin_client, session, camp, page):
    url = f"/admin/campaigns/{camp.id}/posters/{page}"
    assert admin_client.get(url).status_code == 200
    (entry,) = [e for e in _rows(session) if e.action == "link.create_posters"]
    assert (entry.actor_name, entry.target_type, entry.campaign_id) == ("admin", "campaign",
                                                                        camp.id)
    assert sorted(u for link in entry.after["links"].values() for u in link["units"]) == [
        "ZF01", "ZF02", "ZZ01"]
    assert len(entry.after["links"]) == _poster_links(session, camp) == 3
    before = _count(session)
    assert admin_client.get(url).status_code == 200  # links exist now: nothing new to record
    assert _count(session) == before


def test_method_scores_upload_records_every_score_before_and_after(admin_client, post_form,
                                                                    session, camp):
    page = f"/admin/campaigns/{camp.id}/programme"
    for sheet in (SCORES_1, SCORES_2):
        reply = post_form(page, f"/admin/campaigns/{camp.id}/method-scores", data={
            "method": "third", "file": (io.BytesIO(sheet.encode()), "third.csv")},
            content_type="multipart/form-data")
        assert reply.status_code == 302
    first, second = [e for e in _rows(session) if e.action == "method_scores.import"]
    assert first.before == {"method": "third", "scores": {}}
    assert second.before["scores"] == first.after["scores"] == {"ZF01": "90", "ZF02": "80"}
    assert second.after == {"method": "third", "units": 2, "file": "third.csv",
                            "scores": {"ZF01": "70", "ZZ01": "60"}}
    assert (second.actor_name, second.target_id, second.campaign_id) == ("admin", str(camp.id),
                                                                         camp.id)


def test_replacing_the_pool_records_its_groups_before_and_after(admin_client, post_form,
                                                                session, camp):
    page = f"/admin/campaigns/{camp.id}/pool"
    for sheet in (POOL_1, POOL_2):
        post_form(page, f"{page}/import", data={"file": (io.BytesIO(sheet.encode()), "p.csv")},
                  content_type="multipart/form-data")
    first, second = [e for e in _rows(session) if e.action == "pool.import"]
    assert first.before == {"people": 0, "groups": {}}
    assert second.before == {"people": 2, "groups": {"党代表": 1, "人大代表": 1}}
    assert second.after == {"people": 1, "groups": {"政协委员": 1}, "file": "p.csv"}


def test_programme_actions_can_be_filtered_on_the_log_page(admin_client, post_form, camp):
    post_form(f"/admin/campaigns/{camp.id}/push", data={"url": HOOK, "secret": "s" * 20})
    for action in ("webhook.update", "method_scores.import", "deduction.create", "pool.draw"):
        reply = admin_client.get(f"/admin/audit?action={action}")
        assert reply.status_code == 200 and ACTION_LABELS[action] in reply.get_data(as_text=True)
    assert 'data-action="webhook.update"' in admin_client.get(
        "/admin/audit?action=webhook.update").get_data(as_text=True)


# --- command line -----------------------------------------------------------------------------

def _queue_file(w) -> list[str]:  # type: ignore[no-untyped-def]
    _, token = w.make_link(w.camp, ["ZF01"])
    path = w.tmp / "q.json"
    path.write_text(json.dumps({"format": "pingyi-queue", "version": 1, "device_id": "phone-7",
                                "responses": [w.make_item(token)]}))
    return ["import-queue", str(path)]


def _scores_file(w, sheet: str) -> list[str]:  # type: ignore[no-untyped-def]
    path = w.tmp / "third.csv"
    path.write_text(sheet, encoding="utf-8")
    return ["method-scores", "--campaign", str(w.camp.id), "--method", "third", str(path)]


def _pool_file(w, sheet: str) -> list[str]:  # type: ignore[no-untyped-def]
    path = w.tmp / "pool.csv"
    path.write_text(sheet, encoding="utf-8")
    return ["pool", "import", "--campaign", str(w.camp.id), str(path)]


def _check_secretary_made_admin(w, e):  # type: ignore[no-untyped-def]
    assert e.target_id == str(w.secretary.id)
    assert (e.before["role"], e.after["role"]) == ("secretary", "admin")
    assert e.after["password_changed"] is True and "pw-long-enough" not in json.dumps(e.after)


# name: (setup commands run first, the command, the actions it records, check(w, last row))
CLI_CASES = {
    "create-admin new": (
        [], lambda w: ["create-admin", "boss"], ["account.create"],
        lambda w, e: e.before is None and e.after["username"] == "boss"
        and e.after["role"] == "admin" and e.target_type == "user"),
    "create-admin over a secretary": (
        [], lambda w: ["create-admin", "zf01"], ["account.update"],
        _check_secretary_made_admin),
    "link": (
        [], lambda w: ["link", "--campaign", str(w.camp.id), "--unit", "ZF02",
                       "--channel", "survey"], ["link.create"],
        lambda w, e: e.after["units"] == ["ZF02"] and e.after["channel"] == "survey"
        and e.target_type == "link" and e.campaign_id == w.camp.id),
    "link with a visit": (
        [], lambda w: ["link", "--campaign", str(w.camp.id), "--unit", "ZF01", "--visit",
                       "青山村"], ["visit.create", "link.create"],
        lambda w, e: e.after["units"] == ["ZF01"] and e.after["visit_id"] is not None),
    "posters": (
        [], lambda w: ["posters", "--campaign", str(w.camp.id), "--out", str(w.tmp / "print")],
        ["link.create_posters"],
        lambda w, e: len(e.after["links"]) == 3 and e.campaign_id == w.camp.id),
    "import-queue": (
        [], _queue_file, ["queue.import"],
        lambda w, e: e.after == {"filename": "q.json", "stored": 1}),
    "webhook disabled": (
        [lambda w: ["webhook", "--campaign", str(w.camp.id), "--url", HOOK,
                    "--secret", "s" * 20]],
        lambda w: ["webhook", "--campaign", str(w.camp.id)], ["webhook.update"],
        lambda w, e: (e.before, e.after) == ({"url": HOOK, "enabled": True},
                                             {"url": HOOK, "enabled": False,
                                              "secret_changed": False})),
    "pool import replaced": (
        [lambda w: _pool_file(w, POOL_1)], lambda w: _pool_file(w, POOL_2), ["pool.import"],
        lambda w, e: (e.before["groups"], e.after["groups"]) == (
            {"党代表": 1, "人大代表": 1}, {"政协委员": 1})),
    "method-scores replaced": (
        [lambda w: _scores_file(w, SCORES_1)], lambda w: _scores_file(w, SCORES_2),
        ["method_scores.import"],
        lambda w, e: e.before == {"method": "third", "scores": {"ZF01": "90", "ZF02": "80"}}
        and e.after["scores"] == {"ZF01": "70", "ZZ01": "60"}),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_changes_are_audited(case, runner, session, camp, make_user, make_link, make_item,
                                 tmp_path):
    setup, command, actions, check = CLI_CASES[case]
    unit = next(u for u in camp.units if u.code == "ZF01")
    w = SimpleNamespace(camp=camp, tmp=tmp_path, make_link=make_link, make_item=make_item,
                        secretary=make_user("zf01", Role.SECRETARY, units=[unit]))
    for step in setup:
        assert runner.invoke(args=step(w)).exit_code == 0
    already = _count(session)
    result = runner.invoke(args=command(w), input="pw-long-enough\npw-long-enough\n")
    assert result.exit_code == 0, result.output
    rows = _rows(session)[already:]
    assert [r.action for r in rows] == actions
    assert all(r.actor_id is None and r.actor_name is None for r in rows)
    assert check(w, rows[-1]) is not False
    if case == "create-admin over a secretary":
        assert session.get(User, w.secretary.id).is_admin
