"""sync.fastsql binds values exactly as SQLAlchemy would, on both stores.

The sync path's INSERTs skip SQLAlchemy's execution machinery; these tests hold the rows they
write to what SQLAlchemy itself writes, type by type, and check RETURNING over several rows,
conflicts, errors and statement listeners.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from collector.extensions import db
from sync import fastsql
from sync.models import Channel, Response

BEIJING = timezone(timedelta(hours=8))


def _dialect_insert(conn):  # type: ignore[no-untyped-def]
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def _row(campaign, unit, link, uuid: str, **overrides):  # type: ignore[no-untyped-def]
    row = {
        "uuid": uuid, "campaign_id": campaign.id, "unit_id": unit.id, "link_id": link.id,
        "channel": Channel.VISIT, "visit_id": None, "device_id": "设备-1",
        "client_ip": "10.0.0.1", "identity_key": "enterprise", "comment": "办事很快 👍",
        # a naive time is UTC; an aware one is converted (UTCDateTime's own rule)
        "created_at": datetime(2026, 3, 1, 20, 30, 15, 123456, tzinfo=BEIJING),
        "received_at": datetime(2026, 3, 1, 12, 31),
        "content_hash": "ab" * 32, "flags": ["late_upload"], "is_repeat": True,
        "meta": {"屏幕": [375, 667], "ok": None}, "rater_id": None,
        "replaces": None, "is_void": False, "void_reason": None, "receipt_issued_at": None,
    }
    row.update(overrides)
    return row


def _columns(response: Response) -> dict:  # type: ignore[type-arg]
    return {c.key: getattr(response, c.key) for c in Response.__table__.columns
            if c.key not in ("id", "uuid")}


@pytest.fixture
def target(session, make_campaign, make_link):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    link, _ = make_link(campaign)
    return campaign, campaign.units[0], link


def test_rows_written_by_the_driver_read_back_as_sqlalchemy_would_write_them(session, target):
    campaign, unit, link = target
    statement = insert(Response)
    with db.engine.begin() as conn:
        fastsql.run(conn, statement, [_row(campaign, unit, link, "fast-1")])
        conn.execute(insert(Response), [_row(campaign, unit, link, "core-1")])
        # the defaults a row leaves out (received_at, flags, meta, is_repeat, is_void)
        short = {k: v for k, v in _row(campaign, unit, link, "fast-2").items()
                 if k not in ("received_at", "flags", "meta", "is_repeat", "is_void")}
        fastsql.run(conn, statement, [short])
        conn.execute(insert(Response), [{**short, "uuid": "core-2"}])
    session.rollback()
    rows = {r.uuid: r for r in session.scalars(select(Response))}
    assert _columns(rows["fast-1"]) == _columns(rows["core-1"])
    assert rows["fast-1"].created_at == datetime(2026, 3, 1, 12, 30, 15, 123456,
                                                 tzinfo=timezone.utc)
    assert rows["fast-1"].meta == {"屏幕": [375, 667], "ok": None}
    assert rows["fast-1"].channel is Channel.VISIT and rows["fast-1"].is_repeat is True
    fast, core = _columns(rows["fast-2"]), _columns(rows["core-2"])
    # received_at defaults to "now": equal up to the moments the two statements ran
    assert abs(fast.pop("received_at") - core.pop("received_at")) < timedelta(seconds=5)
    assert fast == core and fast["flags"] == [] and fast["is_void"] is False


def test_returning_over_several_rows_names_exactly_the_inserted_ones(session, target):
    campaign, unit, link = target
    with db.engine.begin() as conn:
        statement = (_dialect_insert(conn)(Response).on_conflict_do_nothing()
                     .returning(Response.uuid))
        first = fastsql.run(conn, statement, [_row(campaign, unit, link, f"u{n}")
                                              for n in range(3)])
        again = fastsql.run(conn, statement, [_row(campaign, unit, link, f"u{n}")
                                              for n in range(1, 5)])
    assert sorted(first) == [("u0",), ("u1",), ("u2",)]
    assert sorted(again) == [("u3",), ("u4",)]  # u1 and u2 were skipped, not returned
    session.rollback()
    assert session.query(Response).count() == 5


def test_a_driver_error_is_sqlalchemys_error_and_rolls_the_transaction_back(session, target):
    campaign, unit, link = target
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            fastsql.run(conn, insert(Response), [_row(campaign, unit, link, "kept?")])
            fastsql.run(conn, insert(Response), [_row(campaign, unit, link, "kept?")])
    session.rollback()
    assert session.query(Response).count() == 0


def test_rows_of_one_statement_must_name_the_same_columns(target):
    campaign, unit, link = target
    rows = [_row(campaign, unit, link, "a"), _row(campaign, unit, link, "b")]
    del rows[1]["comment"]  # would silently become NULL if only the first row were looked at
    with db.engine.begin() as conn, pytest.raises(ValueError, match="same columns"):
        fastsql.run(conn, insert(Response), rows)


def test_the_suite_exercises_the_driver_path(app):  # type: ignore[no-untyped-def]
    """Nothing watches the test engine's statements, so the tests above and the sync tests run
    the driver path, not SQLAlchemy's."""
    with db.engine.connect() as conn:
        assert not fastsql.watched(conn)


def test_watched_statements_run_through_sqlalchemy(app, client, make_campaign, make_link,
                                                   make_item):
    """Query recording (Flask-SQLAlchemy's SQLALCHEMY_RECORD_QUERIES) and paired listeners see
    every statement of a sync, with SQLAlchemy's execution context."""
    from flask_sqlalchemy.record_queries import _listen

    _, token = make_link(make_campaign())
    _listen(db.engine)  # what SQLALCHEMY_RECORD_QUERIES=True installs
    before: list[str] = []
    after: list[str] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *a: before.append(statement.split()[0]))
    event.listen(db.engine, "after_cursor_execute",
                 lambda conn, cursor, statement, *a: after.append(statement.split()[0]))
    reply = client.post("/api/v1/sync", json={"device_id": "d", "responses": [make_item(token)]})
    assert reply.status_code == 200 and reply.json["results"][0]["status"] == "stored"
    assert before == after and before.count("INSERT") == 4
