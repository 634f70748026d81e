"""Export jobs longer than one heartbeat: the runner reports progress (and commits) every
5,000 rows while it is still reading, on both stores."""

from __future__ import annotations

import io
import uuid

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from collector.extensions import db
from sync.exports.files import read_file
from sync.exports.jobs import create_job, run_next
from sync.exports.models import ExportJob
from sync.models import FollowUp, Response, Role

MANY = 5_200  # more than one heartbeat (5,000 rows)


def _copies(session: Session, campaign_id: int, count: int) -> None:
    """`count` more responses like the campaign's first commented one, each with its
    follow-up, inserted in bulk."""
    template = session.scalars(select(Response).where(Response.campaign_id == campaign_id,
                                                      Response.comment != "")
                               .order_by(Response.id)).first()
    follow_up = session.scalar(select(FollowUp).where(FollowUp.response_id == template.id))
    skip = {"id", "uuid", "content_hash"}
    base = {c.key: getattr(template, c.key) for c in Response.__mapper__.column_attrs
            if c.key not in skip}
    start = session.scalar(select(func.max(Response.id))) + 1
    session.execute(insert(Response), [
        {**base, "id": start + n, "uuid": str(uuid.uuid4()), "content_hash": f"{n:064x}"}
        for n in range(count)])
    fskip = {"id", "response_id"}
    fbase = {c.key: getattr(follow_up, c.key) for c in FollowUp.__mapper__.column_attrs
             if c.key not in fskip}
    session.execute(insert(FollowUp), [{**fbase, "response_id": start + n}
                                       for n in range(count)])
    session.commit()


@pytest.mark.parametrize(("kind", "model", "sheet", "personal"), [
    ("ledger", FollowUp, "整改台账", True), ("responses", Response, "评议结果", False)])
def test_a_job_longer_than_a_heartbeat_is_exported_whole(session, hand_built, make_user, kind,
                                                         model, sheet, personal):
    _copies(session, hand_built.id, MANY)
    total = session.scalar(select(func.count(model.id))
                           .where(model.campaign_id == hand_built.id))
    admin = make_user("boss", role=Role.ADMIN)
    job = create_job(session, hand_built, admin.id, kind, {}, None, personal=personal)
    session.commit()
    assert run_next(db.engine) == job.id
    session.expire_all()
    assert (job.status, job.error) == ("done", None), job.error
    assert job.rows_done == job.rows_total == total > MANY
    assert _data_rows(session, job, sheet) == total


def _data_rows(session: Session, job: ExportJob, title: str) -> int:
    book = load_workbook(io.BytesIO(b"".join(read_file(session, job))), read_only=True)
    return sum(1 for _ in book[title].iter_rows(min_row=2))
