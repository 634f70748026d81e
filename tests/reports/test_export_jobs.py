"""Excel exports as background jobs: lifecycle, access to the file, failures, one runner per
job under concurrency, and a job orphaned by a dead process picked up after its lease."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from collector.extensions import db
from sync.audit import AuditEntry
from sync.exports import jobs
from sync.exports.jobs import LeaseLost, _owned_update, claim_next, create_job, run_job, run_next
from sync.exports.models import LEASE, ExportChunk, ExportJob
from sync.models import Role, utcnow

from .conftest import csrf_token, download, unit_by_code
from .test_exports import assert_no_formulas


def _start(client, campaign, table: str, query: str = "") -> str:  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/admin/campaigns/{campaign.id}/results")
    reply = client.post(f"/admin/campaigns/{campaign.id}/export.xlsx?table={table}{query}",
                        data={"csrf_token": token})
    assert reply.status_code == 303
    return reply.headers["Location"]


def _job_id(url: str) -> int:
    return int(url.rstrip("/").rsplit("/", 1)[1])


def _pieces(session, job_id: int) -> list[tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    """(attempt, seq, size) of a job's stored file pieces."""
    return [tuple(r) for r in session.execute(
        select(ExportChunk.attempt, ExportChunk.seq, func.length(ExportChunk.data))
        .where(ExportChunk.job_id == job_id).order_by(ExportChunk.attempt, ExportChunk.seq))]


def test_workbook_job_goes_from_queued_to_done(app, client, session, hand_built, make_user,
                                               login):
    admin = make_user("boss", role=Role.ADMIN)
    login(admin)
    job_url = _start(client, hand_built, "all", "&channel=online")
    job_id = _job_id(job_url)
    status_url = f"/api/v1/admin/exports/{job_id}"
    assert client.get(status_url).json == {
        "id": job_id, "status": "queued", "rows_done": 0, "rows_total": None, "percent": 0,
        "error": None, "download_url": None}
    page = client.get(job_url).get_data(as_text=True)
    assert "<progress" in page and "排队中" in page and status_url in page
    assert download(client, f"{job_url}/download").status_code == 404  # not ready yet
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export.download")
                            ).one()
    assert entry.actor_id == admin.id and entry.after["job"] == job_id
    assert entry.after["filter"] == {"channel": ["online"]} and entry.after["units"] == "all"

    assert run_next(db.engine) == job_id
    assert run_next(db.engine) is None  # nothing else waiting
    session.rollback()  # the test shares the requests' session: see what the runner committed
    status = client.get(status_url).json
    # 12 online responses + 9 units × 5 items + 9 units
    assert status["status"] == "done" and status["percent"] == 100
    assert status["rows_done"] == status["rows_total"] == 12 + 45 + 9
    assert status["download_url"] == f"{job_url}/download"
    assert "下载 Excel 文件" in client.get(job_url).get_data(as_text=True)

    reply = download(client, status["download_url"])
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f"campaign-{hand_built.id}-all.xlsx" in reply.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(reply.data))
    assert book.sheetnames == ["评议结果", "分项统计", "排名"]
    assert [book[name].max_row for name in book.sheetnames] == [13, 46, 10]
    header = [c.value for c in book["评议结果"][1]]
    assert "风险提示" in header  # admins see fraud signals
    channels = {row[header.index("评议方式")]
                for row in book["评议结果"].iter_rows(min_row=2, values_only=True)}
    assert channels == {"线上评议"}  # the filter travelled with the job
    assert assert_no_formulas(reply.data) > 100
    # the file is kept in the database, in pieces of this attempt, as long as it downloaded
    session.rollback()
    job = session.get(ExportJob, job_id)
    pieces = _pieces(session, job_id)
    assert [(a, n) for a, n, _ in pieces] == [(1, 0)] and job.attempts == 1
    assert pieces[0][2] == job.byte_size == len(reply.data)


def test_secretary_job_covers_only_their_units_and_no_one_else_downloads(
        app, client, session, hand_built, make_user, login):
    zf02 = unit_by_code(session, hand_built, "ZF02")
    secretary = make_user("renshe", units=[zf02])
    login(secretary)
    job_url = _start(client, hand_built, "responses")
    job = session.get(ExportJob, _job_id(job_url))
    assert job.unit_ids == [zf02.id] and job.requested_by_id == secretary.id
    assert run_next(db.engine) == job.id
    session.rollback()  # see what the runner committed
    reply = download(client, f"{job_url}/download")
    assert reply.status_code == 200
    sheet = load_workbook(io.BytesIO(reply.data)).active
    header, *rows = sheet.iter_rows(values_only=True)
    assert "风险提示" not in header  # never shown to a unit
    assert len(rows) == 2 and {r[2] for r in rows} == {"ZF02"}

    # Another secretary of the very same unit, and one of another unit: no trace of the job.
    for other in (make_user("colleague", units=[zf02]),
                  make_user("zhujian", units=[unit_by_code(session, hand_built, "ZF03")])):
        login(other)
        for url in (job_url, f"{job_url}/download"):
            assert download(client, url).status_code == 404
        assert client.get(f"/api/v1/admin/exports/{job.id}").status_code == 404
    # The requester moved off the unit: the file is no longer theirs either.
    secretary.units = [unit_by_code(session, hand_built, "ZF03")]
    session.commit()
    login(secretary)
    assert download(client, f"{job_url}/download").status_code == 404
    # Admins may see every job.
    login(make_user("boss", role=Role.ADMIN))
    assert download(client, f"{job_url}/download").status_code == 200
    client.get("/admin/logout")
    with client.session_transaction() as sess:
        sess.clear()
    assert client.get(f"/api/v1/admin/exports/{job.id}").status_code == 401
    assert download(client, f"{job_url}/download").status_code == 302  # to the login page


def test_starting_a_job_needs_csrf_and_a_known_table(client, hand_built, make_user, login):
    login(make_user("boss", role=Role.ADMIN))
    url = f"/admin/campaigns/{hand_built.id}/export.xlsx?table=responses"
    assert client.post(url).status_code == 400  # no CSRF token
    token = csrf_token(client, f"/admin/campaigns/{hand_built.id}/results")
    reply = client.post(url.replace("responses", "users"), data={"csrf_token": token})
    assert reply.status_code == 400 and "all" in reply.get_data(as_text=True)
    reply = client.post(url + "&channel=fax", data={"csrf_token": token})
    assert reply.status_code == 400
    assert db.session.scalar(select(ExportJob.id)) is None


def test_a_failing_job_records_its_message(app, client, session, hand_built, make_user, login):
    admin = make_user("boss", role=Role.ADMIN)
    login(admin)
    # A filter that no longer parses (say the questionnaire lost the identity) fails the job.
    job = create_job(session, hand_built, admin.id, "responses", {"identity": ["retired"]}, None)
    session.commit()
    assert run_next(db.engine) == job.id
    session.rollback()  # see what the runner committed
    status = client.get(f"/api/v1/admin/exports/{job.id}").json
    assert status["status"] == "failed" and status["download_url"] is None
    assert status["error"].startswith("导出失败：") and "retired" in status["error"]
    page = client.get(f"/admin/exports/{job.id}").get_data(as_text=True)
    assert "导出失败" in page
    assert download(client, f"/admin/exports/{job.id}/download").status_code == 404
    assert _pieces(session, job.id) == []  # no half-written file left


def test_a_database_error_is_logged_not_shown(app, client, session, hand_built, make_user,
                                              login, monkeypatch, caplog):
    admin = make_user("boss", role=Role.ADMIN)
    login(admin)
    job = create_job(session, hand_built, admin.id, "ledger", {}, None, personal=True)
    session.commit()

    def broken(session, job):  # type: ignore[no-untyped-def]
        session.execute(text("SELECT phone FROM no_such_table WHERE phone = :p"),
                        {"p": "13912345678"})

    monkeypatch.setattr(jobs, "build_tables", broken)
    assert run_next(db.engine) == job.id
    session.rollback()
    status = client.get(f"/api/v1/admin/exports/{job.id}").json
    assert status["status"] == "failed"
    assert status["error"] == "导出失败，请重试；如仍失败请联系管理员。"
    assert status["error"] in client.get(f"/admin/exports/{job.id}").get_data(as_text=True)
    # the details are for the administrator, in the log
    assert "no_such_table" in caplog.text and f"export job {job.id} failed" in caplog.text


def test_two_runners_never_claim_the_same_job(app, session, hand_built, make_user):
    admin = make_user("boss", role=Role.ADMIN)
    jobs = [create_job(session, hand_built, admin.id, "rankings", {}, None).id
            for _ in range(6)]
    session.commit()
    claims: dict[str, list[int]] = {}
    start = threading.Barrier(4)
    errors: list[BaseException] = []
    engine = db.engine  # read here: the threads have no app context

    def runner(worker: str) -> None:
        got: list[int] = []
        try:
            with Session(engine) as own:
                start.wait()
                while (job_id := claim_next(own, worker)) is not None:
                    got.append(job_id)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        claims[worker] = got

    threads = [threading.Thread(target=runner, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    claimed = [job_id for got in claims.values() for job_id in got]
    assert sorted(claimed) == jobs  # every job once, none twice
    session.expire_all()
    for job_id in jobs:
        job = session.get(ExportJob, job_id)
        assert job.status == "running" and job.attempts == 1
        assert [w for w, got in claims.items() if job_id in got] == [job.worker]


def test_a_job_left_running_by_a_dead_process_is_run_again_after_its_lease(
        app, session, hand_built, make_user):
    admin = make_user("boss", role=Role.ADMIN)
    orphan = create_job(session, hand_built, admin.id, "tallies", {}, None)
    alive = create_job(session, hand_built, admin.id, "tallies", {}, None)
    session.commit()
    now = utcnow()
    died = now - LEASE - timedelta(minutes=2)
    assert claim_next(session, "dead", died) == orphan.id
    assert claim_next(session, "busy", died + timedelta(minutes=1)) == alive.id
    _owned_update(session, alive.id, "busy", heartbeat_at=now)  # "busy" renews its lease
    # The lease of "busy" is fresh: nobody takes its job; "dead" stopped renewing long ago.
    assert claim_next(session, "rescuer", now) == orphan.id
    assert claim_next(session, "rescuer", now) is None
    session.expire_all()
    assert (orphan.worker, orphan.attempts) == ("rescuer", 2)
    # The dead runner waking up cannot write over the job any more.
    with pytest.raises(LeaseLost):
        _owned_update(session, orphan.id, "dead", rows_done=5)
    run_job(session, orphan.id, "rescuer")
    session.expire_all()
    assert orphan.status == "done" and orphan.rows_done == 9 * 5
    assert {a for a, _, _ in _pieces(session, orphan.id)} == {2}  # the rescuer's attempt


def test_a_job_that_keeps_dying_is_failed_not_retried_forever(app, session, hand_built,
                                                              make_user):
    job = create_job(session, hand_built, make_user("boss", role=Role.ADMIN).id, "tallies",
                     {}, None)
    session.commit()
    moment = utcnow() - 10 * LEASE
    for attempt in range(3):
        assert claim_next(session, f"crash{attempt}", moment + attempt * 2 * LEASE) == job.id
    assert claim_next(session, "next", utcnow()) is None
    session.expire_all()
    assert job.status == "failed" and "多次中断" in job.error
