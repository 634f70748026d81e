"""The running totals always equal a count over the raw rows, whatever phones and admins do.

Hypothesis drives any mix of batches (new ids, resends, conflicting resends, the same id twice
in a batch, a device's repeat poster ratings, ratings either side of Beijing midnight) and
exclusions / re-inclusions (sync.integrity.exclusions, which call `apply_delta`), then compares every totals row with a count
made in Python from the responses and answers tables. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sync.db import write_transaction
from sync.integrity.exclusions import exclude_response, include_response
from sync.merge import merge_batch
from sync.models import Answer, Channel, Response
from sync.reports import campaign_tally
from sync.reports.filters import local_time
from sync.reports.totals import ROLLUP, ROLLUP_DAY, TallyTotal, apply_delta, rebuild_totals

ITEMS = ["efficiency", "attitude", "competence", "conduct", "integrity"]
LEVELS = ["satisfied", "basic", "unsatisfied"]

rating = st.fixed_dictionaries({
    "slot": st.integers(0, 5),  # few ids per example: resends and conflicts are common
    "link": st.sampled_from(["poster", "visit"]),
    "unit": st.sampled_from(["ZF01", "ZF02"]),
    "levels": st.lists(st.sampled_from(LEVELS), min_size=5, max_size=5),
    "identity": st.sampled_from(["enterprise", "rural", ""]),
    "days_ago": st.integers(1, 3),
    "utc_hour": st.sampled_from([2, 15, 16, 17]),  # 16:00 UTC is Beijing midnight
})
step = st.one_of(
    st.tuples(st.just("batch"), st.lists(rating, min_size=1, max_size=4),
              st.sampled_from(["phone-A", "phone-B"])),
    st.tuples(st.just("exclude"), st.integers(0, 1000)),
    st.tuples(st.just("include"), st.integers(0, 1000)),
)

_examples = itertools.count()


def expected_totals(session, campaign_id: int) -> Counter:  # type: ignore[no-untyped-def]
    """Count counted answers and respondents straight from the raw rows, in Python."""
    session.rollback()
    rows = session.execute(
        select(Response.id, Response.unit_id, Response.channel, Response.identity_key,
               Response.created_at, Answer.item_id, Answer.level_id, Answer.score,
               Response.is_repeat, Response.excluded_at)
        .join(Answer, Answer.response_id == Response.id)
        .where(Response.campaign_id == campaign_id)).all()
    out: Counter = Counter()
    seen: set[int] = set()
    for rid, unit, channel, identity, created, item, level, score, repeat, excluded in rows:
        if repeat or excluded is not None:  # kept and exported, never counted
            continue
        fine = (Channel(channel).value, identity or "", local_time(created).date())
        for grain in (fine, (ROLLUP, ROLLUP, ROLLUP_DAY)):
            out[(unit, item, level, *grain, "n")] += 1
            out[(unit, item, level, *grain, "score")] += score
            if rid not in seen:
                out[(unit, 0, 0, *grain, "n")] += 1
        seen.add(rid)
    return +out  # drop zeros


def stored_totals(session, campaign_id: int) -> Counter:  # type: ignore[no-untyped-def]
    session.rollback()
    out: Counter = Counter()
    for t in session.scalars(select(TallyTotal).where(TallyTotal.campaign_id == campaign_id)):
        day = t.day if not isinstance(t.day, str) else datetime.fromisoformat(t.day).date()
        key = (t.unit_id, t.item_id, t.level_id, t.channel, t.identity_key, day)
        out[(*key, "n")] += t.n
        out[(*key, "score")] += t.score_sum
    return +out


def test_totals_equal_a_count_over_raw_rows(app, session, make_campaign, make_link):
    campaign = make_campaign()
    _, poster = make_link(campaign, ["ZF01", "ZF02"])
    _, visit = make_link(campaign, ["ZF01", "ZF02"], Channel.VISIT, "青山村")
    tokens = {"poster": poster, "visit": visit}
    signer = app.extensions["link_signer"]

    @settings(max_examples=30, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(step, min_size=1, max_size=8))
    def run(steps):  # type: ignore[no-untyped-def]
        nonce = next(_examples)
        for kind, *args in steps:
            if kind == "batch":
                ratings, device = args
                items = []
                for r in ratings:
                    day = datetime.now(timezone.utc).date() - timedelta(days=r["days_ago"])
                    created = datetime(day.year, day.month, day.day, r["utc_hour"],
                                       tzinfo=timezone.utc)
                    items.append({
                        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{nonce}-{r['slot']}")),
                        "token": tokens[r["link"]], "unit": r["unit"],
                        "created_at": created.isoformat(),
                        "answers": dict(zip(ITEMS, r["levels"], strict=True)),
                        "identity": r["identity"], "comment": "请改进" if "unsatisfied"
                        in r["levels"] else ""})
                results = merge_batch(session, signer, {"device_id": device,
                                                        "responses": items})
                assert all(res.status != "rejected" for res in results), results
            else:
                session.rollback()
                state = (Response.excluded_at.is_(None) if kind == "exclude"
                         else Response.excluded_at.is_not(None))
                candidates = session.scalars(select(Response).where(
                    Response.campaign_id == campaign.id, state).order_by(Response.id)).all()
                if not candidates:
                    continue
                chosen = candidates[args[0] % len(candidates)]  # repeats included
                with write_transaction(session):
                    change = exclude_response if kind == "exclude" else include_response
                    change(session, chosen, reason="核查", actor=None)
            assert stored_totals(session, campaign.id) == expected_totals(session, campaign.id)

    run()
    # The pages read the same numbers: respondents per unit match the raw count.
    expected = expected_totals(session, campaign.id)
    tally = campaign_tally(session, campaign)
    for unit in tally.units():
        assert unit.respondents == expected[(unit.unit_id, 0, 0, ROLLUP, ROLLUP, ROLLUP_DAY, "n")]
    # A rebuild from the responses gives the very same totals.
    with write_transaction(session):
        rebuild_totals(session, [campaign.id])
    assert stored_totals(session, campaign.id) == expected


def test_rebuild_tallies_command_restores_lost_totals(runner, session, make_campaign,
                                                      make_link, make_item, client):
    campaign = make_campaign()
    _, token = make_link(campaign)
    for n, level in enumerate(LEVELS * 2):
        client.post("/api/v1/sync", json={"device_id": f"phone-{n}",
                                          "responses": [make_item(token, level)]})
    before = stored_totals(session, campaign.id)
    assert before[(campaign.units[0].id, 0, 0, ROLLUP, ROLLUP, ROLLUP_DAY, "n")] == 6
    session.execute(TallyTotal.__table__.delete())
    session.commit()
    result = runner.invoke(args=["rebuild-tallies"])
    assert result.exit_code == 0, result.output
    assert stored_totals(session, campaign.id) == before


def test_apply_delta_refuses_a_bad_sign(session):
    with pytest.raises(ValueError, match="sign"):
        apply_delta(session, [1], 2)


def test_concurrent_batches_keep_totals_exact(app, session, make_campaign, make_link,
                                              make_item):
    """Eight phones at once, rating the same units at every level: no deadlock, no lost
    update (PostgreSQL locks shared total rows; they are always taken in key order)."""
    import threading

    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01", "ZF02"])
    errors: list[BaseException] = []

    def phone(k: int) -> None:
        try:
            client = app.test_client()
            for n in range(12):
                item = make_item(token, LEVELS[(k + n) % 3], unit=["ZF01", "ZF02"][n % 2],
                                 identity=["enterprise", "rural"][k % 2],
                                 comment="原因" if (k + n) % 3 == 2 else "")
                reply = client.post("/api/v1/sync", json={"device_id": f"p{k}-{n}",
                                                          "responses": [item]})
                assert reply.status_code == 200, reply.get_data(as_text=True)
                assert reply.json["results"][0]["status"] == "stored"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=phone, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert stored_totals(session, campaign.id) == expected_totals(session, campaign.id)
    assert campaign_tally(session, campaign).respondents == 96
