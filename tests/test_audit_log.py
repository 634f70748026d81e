"""The audit log is append-only: the store itself refuses to change or delete a row."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from sync.accounts import create_user
from sync.audit import AuditEntry, record
from sync.models import Role, User


@pytest.fixture
def entry(session):  # type: ignore[no-untyped-def]
    admin = create_user(session, "auditor", "long-enough-pw", Role.ADMIN)
    row = record(session, actor=admin, action="campaign.update", target_type="campaign",
                 target_id=7, campaign_id=7, before={"title": "旧"}, after={"title": "新"},
                 ip="203.0.113.9")
    session.commit()
    return row


def test_record_keeps_who_what_when(session, entry):
    row = session.scalar(select(AuditEntry))
    assert (row.actor_name, row.action, row.target_type, row.target_id, row.campaign_id) == \
        ("auditor", "campaign.update", "campaign", "7", 7)
    assert row.before == {"title": "旧"} and row.after == {"title": "新"}
    assert row.ip == "203.0.113.9" and row.at.tzinfo is not None


@pytest.mark.parametrize("statement", [
    update(AuditEntry).values(action="campaign.view"),
    update(AuditEntry).values(after={"title": "改过"}),
    update(AuditEntry).values(actor_id=None, actor_name="someone else"),
    delete(AuditEntry),
])
def test_the_store_refuses_to_change_a_row(session, entry, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(statement)
        session.commit()
    session.rollback()
    row = session.scalar(select(AuditEntry))
    assert (row.action, row.after, row.actor_name) == \
        ("campaign.update", {"title": "新"}, "auditor")


def test_raw_sql_delete_is_refused_too(session, entry):
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text("DELETE FROM audit_log"))
    session.rollback()
    assert session.scalar(select(AuditEntry.id)) == entry.id


def test_deleting_the_account_keeps_the_entry_and_its_name(session, entry):
    session.execute(delete(User).where(User.username == "auditor"))
    session.commit()
    row = session.scalar(select(AuditEntry))
    assert row.actor_id is None and row.actor_name == "auditor"
    assert row.action == "campaign.update"
