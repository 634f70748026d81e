"""Finished Excel files kept in the database: stored in pieces, served by any host, deleted
after their retention (by the runners and by `collector prune-exports`), a lost lease never
mixing its pieces into the file."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, insert, select, update

from collector import create_app
from collector.auth import session_stamp
from collector.extensions import db
from sync.exports import files
from sync.exports.files import ChunkWriter, FileGone, LeaseLost, prune_exports, read_file
from sync.exports.jobs import ExportRunner, claim_next, create_job, run_job, run_next
from sync.exports.models import LEASE, ExportChunk, ExportJob
from sync.models import Role, utcnow

from .conftest import csrf_token, download, unit_by_code

WEEK, DAY = timedelta(days=7), timedelta(hours=24)


def _start(client, campaign, table: str) -> str:  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/admin/campaigns/{campaign.id}/results")
    reply = client.post(f"/admin/campaigns/{campaign.id}/export.xlsx?table={table}",
                        data={"csrf_token": token})
    assert reply.status_code == 303
    return reply.headers["Location"]


def _pieces(session, job_id: int) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    return [tuple(r) for r in session.execute(
        select(ExportChunk.attempt, ExportChunk.seq).where(ExportChunk.job_id == job_id)
        .order_by(ExportChunk.attempt, ExportChunk.seq))]


def test_a_file_is_kept_in_pieces_and_any_host_serves_it(app, client, session, hand_built,
                                                         make_user, login, monkeypatch):
    monkeypatch.setattr(files, "CHUNK_BYTES", 1024)
    admin = make_user("boss", role=Role.ADMIN)
    login(admin)
    job_url = _start(client, hand_built, "all")
    job_id = int(job_url.rsplit("/", 1)[1])
    assert run_next(db.engine) == job_id
    session.rollback()
    job = session.get(ExportJob, job_id)
    pieces = _pieces(session, job_id)
    assert len(pieces) > 5 and pieces == [(1, n) for n in range(len(pieces))]
    stored = b"".join(session.scalars(select(ExportChunk.data).where(
        ExportChunk.job_id == job_id).order_by(ExportChunk.seq)))
    assert len(stored) == job.byte_size and "EXPORT_DIR" not in app.config

    here = download(client, f"{job_url}/download")
    assert here.status_code == 200 and here.data == stored
    assert here.headers["Content-Length"] == str(job.byte_size)
    assert here.headers["Cache-Control"] == "no-store"
    # A second app on the same database (another host behind the load balancer); each of its
    # requests runs in an app context of its own, as on a real host
    other = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
                        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    there = other.test_client()
    with there.session_transaction() as sess:
        sess["user_id"] = admin.id
        sess["stamp"] = session_stamp(admin)
    reply = download(there, f"{job_url}/download")
    with other.app_context():
        db.engine.dispose()
    assert reply.status_code == 200 and reply.data == stored
    assert load_workbook(io.BytesIO(stored)).sheetnames == ["评议结果", "分项统计", "排名"]


def test_files_expire_after_their_retention(app, client, session, hand_built, make_user,
                                            login):
    admin = make_user("boss", role=Role.ADMIN)
    login(admin)
    old, recent, personal = (create_job(session, hand_built, admin.id, "rankings", {}, None,
                                        personal=flag) for flag in (False, False, True))
    session.commit()
    for _ in range(3):
        assert run_next(db.engine) is not None
    failed = create_job(session, hand_built, admin.id, "rankings", {}, None)
    session.commit()
    now = utcnow()
    for job, age in ((old, WEEK + timedelta(minutes=1)), (recent, DAY + timedelta(hours=1)),
                     (personal, DAY + timedelta(hours=1))):
        session.execute(update(ExportJob).where(ExportJob.id == job.id)
                        .values(finished_at=now - age))
    # a failed job whose dead attempt left a piece behind
    session.execute(update(ExportJob).where(ExportJob.id == failed.id)
                    .values(status="failed", attempts=1))
    session.execute(insert(ExportChunk).values(job_id=failed.id, attempt=1, seq=0, data=b"x"))
    session.commit()

    assert prune_exports(session, WEEK, DAY, now) == 2
    assert prune_exports(session, WEEK, DAY, now) == 0
    session.expire_all()
    assert [j.status for j in (old, recent, personal)] == ["expired", "done", "expired"]
    assert _pieces(session, old.id) == _pieces(session, personal.id) == []
    assert _pieces(session, failed.id) == [] and _pieces(session, recent.id) == [(1, 0)]
    status = client.get(f"/api/v1/admin/exports/{old.id}").json
    assert status["status"] == "expired" and status["download_url"] is None
    page = client.get(f"/admin/exports/{old.id}").get_data(as_text=True)
    assert "文件已过期，请重新导出。" in page and "保留 7 天" in page
    assert download(client, f"/admin/exports/{old.id}/download").status_code == 410
    assert download(client, f"/admin/exports/{recent.id}/download").status_code == 200


def test_a_file_pruned_during_its_download_aborts_it(session, hand_built, make_user,
                                                     monkeypatch):
    monkeypatch.setattr(files, "CHUNK_BYTES", 1024)
    job = create_job(session, hand_built, make_user("boss", role=Role.ADMIN).id, "all", {},
                     None)
    session.commit()
    run_next(db.engine)
    session.refresh(job)
    pieces = read_file(session, job)
    first = next(pieces)
    assert 0 < len(first) < job.byte_size
    assert prune_exports(session, WEEK, DAY, utcnow() + 2 * WEEK) == 1
    with pytest.raises(FileGone):  # not a quiet end short of the announced Content-Length
        list(pieces)
    # a whole file still ends quietly
    session.execute(update(ExportJob).where(ExportJob.id == job.id).values(status="queued"))
    session.commit()
    run_next(db.engine)
    session.refresh(job)
    assert len(b"".join(read_file(session, job))) == job.byte_size


def test_runners_prune_every_ten_minutes_and_so_does_the_cli(app, session, hand_built,
                                                             make_user):
    admin = make_user("boss", role=Role.ADMIN)
    jobs = [create_job(session, hand_built, admin.id, "tallies", {}, None) for _ in range(3)]
    session.commit()
    for _ in jobs:
        run_next(db.engine)
    now = utcnow()
    runner = ExportRunner(db.engine, retention=DAY)
    session.execute(update(ExportJob).where(ExportJob.id == jobs[0].id)
                    .values(finished_at=now - 2 * DAY))
    session.commit()
    assert runner.prune_if_due(now) == 1
    session.execute(update(ExportJob).where(ExportJob.id == jobs[1].id)
                    .values(finished_at=now - 2 * DAY))
    session.commit()
    assert runner.prune_if_due(now + timedelta(minutes=9)) == 0  # looked 9 minutes ago
    assert runner.prune_if_due(now + timedelta(minutes=10)) == 1
    session.execute(update(ExportJob).where(ExportJob.id == jobs[2].id)
                    .values(finished_at=now - timedelta(days=2)))
    session.commit()
    result = app.test_cli_runner().invoke(args=["prune-exports", "--days", "1"])
    assert result.exit_code == 0 and "1 export file(s) expired" in result.output
    assert session.scalar(select(func.count()).select_from(ExportChunk)) == 0


def test_a_runner_that_lost_its_lease_stores_nothing(session, hand_built, make_user):
    job = create_job(session, hand_built, make_user("boss", role=Role.ADMIN).id, "tallies",
                     {}, None)
    session.commit()
    then = utcnow() - LEASE - timedelta(minutes=1)
    assert claim_next(session, "slow", then) == job.id
    writer = ChunkWriter(session, job.id, 1, "slow", chunk_bytes=8)
    writer.write(b"12345678")  # a full piece, stored while the lease holds
    assert _pieces(session, job.id) == [(1, 0)]
    # then "slow" stalls past its lease, and another runner takes the job over
    session.execute(update(ExportJob).where(ExportJob.id == job.id).values(heartbeat_at=then))
    session.commit()
    assert claim_next(session, "rescuer") == job.id
    with pytest.raises(LeaseLost):
        writer.write(b"abcdefgh")
    assert _pieces(session, job.id) == [(1, 0)]  # nothing more from the loser
    run_job(session, job.id, "rescuer")  # which first clears what the dead attempt left
    session.expire_all()
    assert job.status == "done" and {a for a, _ in _pieces(session, job.id)} == {2}


@pytest.mark.parametrize("who", ["colleague", "other-unit"])
def test_a_secretarys_file_is_theirs_alone(client, session, hand_built, make_user, login, who):
    zf02 = unit_by_code(session, hand_built, "ZF02")
    login(make_user("renshe", units=[zf02]))
    job_url = _start(client, hand_built, "responses")
    run_next(db.engine)
    session.rollback()
    assert download(client, f"{job_url}/download").status_code == 200
    unit = zf02 if who == "colleague" else unit_by_code(session, hand_built, "ZF03")
    login(make_user(who, units=[unit]))
    assert download(client, f"{job_url}/download").status_code == 404
