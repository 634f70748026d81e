"""The sample pool: import, reproducible stratified draws, personal links that rate once."""

from __future__ import annotations

import csv
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from sync.models import Link, Response
from sync.pool.models import PoolDrawn, PoolRater
from sync.pool.sample import PoolError, choose, current_draw, draw_sample, response_rates

from .helpers import personal_tokens, post, rating, write_csv


def import_pool(runner, campaign, path):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["pool", "import", "--campaign", str(campaign.id), str(path)])


def draw(runner, campaign, *args):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["pool", "draw", "--campaign", str(campaign.id), *args])


@pytest.fixture
def campaign(make_campaign):  # type: ignore[no-untyped-def]
    return make_campaign()


@pytest.fixture
def big_pool(runner, campaign, tmp_path):  # type: ignore[no-untyped-def]
    """党代表 10, 人大代表 20, 政协委员 7; the first 5 党代表 are also 人大代表 (交叉任职)."""
    rows = [[f"党{i:02d}", "党代表", f"1390000{i:04d}"] for i in range(10)]
    rows += [[f"党{i:02d}", "人大代表", f"1390000{i:04d}"] for i in range(5)]
    rows += [[f"人{i:02d}", "人大代表", ""] for i in range(15)]
    rows += [[f"政{i:02d}", "政协委员", ""] for i in range(7)]
    result = import_pool(runner, campaign, write_csv(tmp_path / "pool.csv", ["姓名", "组别", "手机"], rows))
    assert result.exit_code == 0, result.output
    assert "32 people" in result.output  # 37 rows, 5 people listed twice
    return campaign


def drawn(session, campaign) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return [(d.rater.name, d.group) for d in session.scalars(
        select(PoolDrawn).join(PoolDrawn.rater).where(PoolRater.campaign_id == campaign.id)
        .order_by(PoolDrawn.draw_id.desc(), PoolDrawn.position))
        if d.draw_id == max(x.draw_id for x in session.scalars(select(PoolDrawn)))]


def test_a_person_in_two_groups_is_one_rater(session, big_pool):  # type: ignore[no-untyped-def]
    rater = session.scalars(select(PoolRater).where(PoolRater.name == "党03")).one()
    assert sorted(m.group for m in rater.groups) == ["人大代表", "党代表"]


def test_same_seed_same_draw_and_proportional_per_group(runner, session, big_pool):  # type: ignore[no-untyped-def]
    assert draw(runner, big_pool, "--fraction", "0.3", "--seed", "s1").exit_code == 0
    first = drawn(session, big_pool)
    # round(0.3 × group size): 人大代表 20 → 6, 党代表 10 → 3, 政协委员 7 → 2.1 → 2
    assert Counter(g for _, g in first) == {"人大代表": 6, "党代表": 3, "政协委员": 2}
    assert len({name for name, _ in first}) == len(first)  # nobody drawn twice

    assert draw(runner, big_pool, "--fraction", "0.3", "--seed", "s1").exit_code == 0
    assert drawn(session, big_pool) == first  # replaced by the very same draw
    assert draw(runner, big_pool, "--fraction", "0.3", "--seed", "s2").exit_code == 0
    assert drawn(session, big_pool) != first


def test_a_person_in_two_groups_is_drawn_at_most_once(runner, session, big_pool):  # type: ignore[no-untyped-def]
    # 党代表 has 10 people; taking all 10 and all 20 人大代表 must not draw 党00–党04 twice.
    assert draw(runner, big_pool, "--per-group", "20", "--seed", "x").exit_code == 0
    names = [name for name, _ in drawn(session, big_pool)]
    assert len(names) == len(set(names)) == 32


def test_choose_is_deterministic_and_exclusive() -> None:
    members = {"A": [("甲", "", 1), ("乙", "", 2), ("丙", "", 3)],
               "B": [("甲", "", 1), ("丁", "", 4)]}
    once = choose(members, "seed", 2, None)
    assert once == choose(members, "seed", 2, None)
    assert len({r for r, _ in once}) == len(once)
    counts = Counter(g for _, g in once)
    # 甲 sits in both groups: drawn for A, B has only 丁 left.
    assert counts == {"A": 2, "B": 1 if (1, "A") in once else 2}
    # Half of each group, rounded half up: A 1.5 → 2, B 1.
    half = choose(members, "s", None, Decimal("0.5"))
    assert Counter(g for _, g in half)["A"] == 2 and len(half) <= 3


@pytest.mark.parametrize(("rows", "message"), [
    ([["张三", "党代表", "138"]], "第2行：手机“138”格式不正确"),
    ([["", "党代表", ""]], "第2行：姓名不能为空"),
    ([["张三", "党代表", "13800000001"], ["张三", "人大代表", "13800000002"],
      ["张三", "政协委员", ""]], "第4行：有多位“张三”"),
])
def test_a_bad_pool_row_refuses_the_whole_sheet(runner, session, campaign, tmp_path, rows,
                                                message):  # type: ignore[no-untyped-def]
    good = [["李四", "党代表", ""]]
    result = import_pool(runner, campaign,
                         write_csv(tmp_path / "p.csv", ["姓名", "组别", "手机"], good + rows))
    assert result.exit_code != 0 and message.replace("第2行", "第3行").replace("第4行", "第5行") \
        in result.output
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PoolRater)) == 0


def test_a_redraw_is_refused_once_a_link_was_used(app, runner, session, client, big_pool):  # type: ignore[no-untyped-def]
    assert draw(runner, big_pool, "--per-group", "1", "--seed", "a").exit_code == 0
    old_tokens = personal_tokens(app, session, big_pool)
    assert draw(runner, big_pool, "--per-group", "1", "--seed", "b").exit_code == 0
    # The replaced draw's links no longer open the form, nor take a backdated rating.
    assert client.get(f"/s/{old_tokens[0][2]}").status_code == 410
    an_hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    backdated = rating(old_tokens[0][2], 100, unit="ZF01", created_at=an_hour_ago)
    result = post(client, [backdated]).json["results"][0]
    assert result["status"] == "rejected" and result["code"] == "link_revoked"
    token = personal_tokens(app, session, big_pool)[0][2]
    reply = post(client, [rating(token, 100, unit="ZF01")])
    assert reply.json["results"][0]["status"] == "stored"
    result = draw(runner, big_pool, "--per-group", "1", "--seed", "c")
    assert result.exit_code != 0 and "已开始评议，不能重新抽样" in result.output
    session.expire_all()
    assert current_draw(session, big_pool).seed == "b"  # the used draw stands


def test_personal_link_rates_each_unit_once_sequentially(app, runner, session, client, big_pool):  # type: ignore[no-untyped-def]
    assert draw(runner, big_pool, "--per-group", "1", "--seed", "a").exit_code == 0
    token = personal_tokens(app, session, big_pool)[0][2]
    first = rating(token, 100, unit="ZF01")
    assert post(client, [first]).json["results"][0]["status"] == "stored"
    assert post(client, [first]).json["results"][0]["status"] == "duplicate"  # a safe resend
    again = post(client, [rating(token, 0, unit="ZF01")]).json["results"][0]
    assert again["status"] == "rejected" and again["code"] == "rater_unit_done"
    assert "只能评议一次" in again["error"]
    # Two ratings of one unit in one batch: one of them stands; another unit is fine.
    batch = post(client, [rating(token, 60, unit="ZF02"), rating(token, 0, unit="ZF02"),
                          rating(token, 60, unit="ZZ01")]).json["results"]
    assert sorted(r["status"] for r in batch[:2]) == ["rejected", "stored"]
    assert batch[2]["status"] == "stored"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Response)) == 3
    # The form marks the units this rater already rated, whatever the phone.
    form = client.get(f"/s/{token}", headers={"Cookie": "pingyi_device=another-phone"})
    assert "市场监管局（已评议）" in form.get_data(as_text=True)
    # The no-JS form refuses too, with the same message.
    page = client.post(f"/s/{token}", data={"unit": "ZF01", **{
        f"a.{k}": "satisfied" for k in ("efficiency", "attitude", "competence", "conduct", "integrity")},
        "identity": "enterprise", "response_id": "6f1c1c1e-0000-4000-8000-000000000001"})
    assert page.status_code == 422 and "只能评议一次" in page.get_data(as_text=True)


@pytest.mark.parametrize("round_", range(3))
def test_personal_link_rates_each_unit_once_under_8_concurrent_posts(
        app, runner, session, big_pool, round_):  # type: ignore[no-untyped-def]
    assert draw(runner, big_pool, "--per-group", "1", "--seed", f"r{round_}").exit_code == 0
    token = personal_tokens(app, session, big_pool)[0][2]
    barrier = threading.Barrier(8)
    statuses: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            client = app.test_client()
            item = rating(token, 100, unit="ZF01")
            barrier.wait()
            reply = post(client, [item])
            assert reply.status_code == 200, reply.get_data(as_text=True)
            statuses.append(reply.json["results"][0]["status"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(statuses) == ["rejected"] * 7 + ["stored"]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Response)) == 1


def test_links_list_response_rates_and_no_names_beside_ratings(
        app, runner, session, client, big_pool, tmp_path):  # type: ignore[no-untyped-def]
    assert draw(runner, big_pool, "--per-group", "2", "--seed", "a").exit_code == 0
    out = tmp_path / "links.csv"
    assert runner.invoke(args=["pool", "links", "--campaign", str(big_pool.id), "--out",
                               str(out)]).exit_code == 0
    with out.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["姓名", "组别", "链接"] and len(rows) == 7
    assert all(r[2].startswith("http://testserver/s/") for r in rows[1:])
    assert not any("1390000" in cell for r in rows for cell in r)  # no phones

    tokens = personal_tokens(app, session, big_pool)
    for _, _, token in tokens[:3]:
        assert post(client, [rating(token, 100, unit="ZF01", comment="很好")]).json[
            "results"][0]["status"] == "stored"
    rates = {r.group: r for r in response_rates(session, big_pool)}
    responded = Counter(g for _, g, _ in tokens[:3])
    for group, r in rates.items():
        assert (r.drawn, r.responded, r.ratings) == (2, responded[group], responded[group])

    export = tmp_path / "export.csv"
    assert runner.invoke(args=["export", "--campaign", str(big_pool.id), "--out",
                               str(export)]).exit_code == 0
    text = export.read_text(encoding="utf-8-sig")
    assert text.count("\n") >= 4
    assert not any(name in text for name, _, _ in tokens)


def test_draw_needs_a_pool_and_one_size_rule(session, campaign):  # type: ignore[no-untyped-def]
    with pytest.raises(PoolError, match="样本库是空的"):
        draw_sample(session, campaign, "s", per_group=1)
    with pytest.raises(PoolError, match="二选一"):
        draw_sample(session, campaign, "s", per_group=1, fraction=Decimal("0.5"))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Link)) == 0
