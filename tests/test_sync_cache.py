"""Each worker caches links and questionnaires, yet every admin change is seen at once.

Two app instances on one store stand for two gunicorn workers (or hosts): each has its own
LinkCache. tests/test_two_hosts.py does the same with two real servers on PostgreSQL and Redis.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from collector import create_app
from collector.extensions import db
from sync.db import write_transaction
from sync.links import revoke_link
from sync.models import Campaign, CampaignStatus, Channel, Link, Response
from tests.reports.test_totals import expected_totals, stored_totals


@pytest.fixture
def second_worker(app):  # type: ignore[no-untyped-def]
    other = create_app({**{k: app.config[k] for k in (
        "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "PUBLIC_BASE_URL")}, "TESTING": True})
    yield other.test_client()
    with other.app_context():
        db.engine.dispose()


def sync_one(client, item, device="phone-1"):  # type: ignore[no-untyped-def]
    reply = client.post("/api/v1/sync", json={"device_id": device, "responses": [item]})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.json["results"][0]


def test_revoked_link_is_refused_at_once_on_every_worker(client, second_worker, session,
                                                         make_campaign, make_link, make_item):
    link, token = make_link(make_campaign())
    # Both workers have the link cached.
    assert sync_one(client, make_item(token), "a")["status"] == "stored"
    assert sync_one(second_worker, make_item(token), "b")["status"] == "stored"

    session.rollback()
    revoke_link(session, session.get(Link, link.id))
    session.commit()
    after = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    for worker in (second_worker, client):
        result = sync_one(worker, make_item(token, created_at=after), "c")
        assert result["status"] == "rejected"
        assert "停用" in result["error"]


def test_closing_a_campaign_is_seen_at_once_by_a_warm_worker(client, second_worker, session,
                                                             make_campaign, make_link,
                                                             make_item):
    campaign = make_campaign()
    _, token = make_link(campaign)
    assert sync_one(second_worker, make_item(token))["status"] == "stored"
    session.rollback()  # SQLite: a read begun before the other worker wrote cannot write
    campaign.status = CampaignStatus.CLOSED
    session.commit()
    result = sync_one(second_worker, make_item(token), "phone-2")
    assert (result["status"], result["code"]) == ("rejected", "campaign_closed")


def test_a_new_required_item_is_enforced_at_once(client, second_worker, session,
                                                 make_campaign, make_link, make_item):
    campaign = make_campaign()
    _, token = make_link(campaign)
    assert sync_one(second_worker, make_item(token))["status"] == "stored"
    session.rollback()
    item = campaign.questionnaire.items[0]
    item.key = "speed"  # an unfrozen questionnaire edited in place: old key now unknown
    session.commit()
    result = sync_one(second_worker, make_item(token), "phone-2")
    assert (result["status"], result["code"]) == ("rejected", "item_unknown")


def test_a_batch_of_one_is_one_transaction_of_few_statements(app, client, session,
                                                             make_campaign, make_link,
                                                             make_item):
    _, token = make_link(make_campaign())
    sync_one(client, make_item(token), "warm-up")  # caches filled
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert sync_one(client, make_item(token), "new-phone")["status"] == "stored"
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    work = [s for s in statements if s not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert statements.count("BEGIN") <= 1  # PostgreSQL's BEGIN is implicit in the driver
    # response (its RETURNING reads the config version), answers, the (device, unit) claim
    # that decides a repeat, the running totals
    assert work == ["INSERT", "INSERT", "INSERT", "INSERT"], statements


def test_batches_keep_going_while_admins_edit(app, session, make_campaign, make_link,
                                              make_item):
    """Six phones upload overlapping batches while an admin saves sixty edits: every batch
    is answered (a stale cache is validated again under the write lock, never given up on),
    every rating is stored once and the totals equal a count over the raw rows."""
    campaign = make_campaign()
    _, poster = make_link(campaign, ["ZF01", "ZF02"])
    _, visit = make_link(campaign, ["ZF01", "ZF02"], Channel.VISIT, "青山村")
    campaign_id = campaign.id
    rng = random.Random(7)
    pool = [make_item(poster if n % 2 else visit, unit=rng.choice(["ZF01", "ZF02"]),
                      level=rng.choice(["satisfied", "basic"]), comment="请改进")
            for n in range(120)]
    failures: list[str] = []
    barrier = threading.Barrier(7)

    def phone(k: int) -> None:
        client = app.test_client()
        draw = random.Random(k)
        barrier.wait()
        for _ in range(12):
            reply = client.post("/api/v1/sync", json={
                "device_id": f"dev-{draw.randrange(3)}", "responses": draw.sample(pool, 10)})
            if reply.status_code != 200:
                failures.append(reply.get_data(as_text=True)[:300])

    def admin() -> None:
        barrier.wait()
        for n in range(60):
            with app.app_context():
                with write_transaction(db.session):
                    db.session.get(Campaign, campaign_id).title = f"测试{n}"
                db.session.remove()

    threads = [threading.Thread(target=phone, args=(k,)) for k in range(6)]
    threads.append(threading.Thread(target=admin))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    session.rollback()
    assert session.scalar(select(func.count(func.distinct(Response.uuid)))) == session.scalar(
        select(func.count()).select_from(Response))
    assert stored_totals(session, campaign_id) == expected_totals(session, campaign_id)
