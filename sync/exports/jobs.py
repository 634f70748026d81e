"""Durable export jobs: an XLSX file is built by a background runner, never inside a request.

A job row records who asked for what (campaign, table or ledger, filter, the units they may
see); a runner claims it with one conditional UPDATE, so two threads, processes or hosts never
build the same job, and keeps a lease alive while it writes. A job left `running` by a process
that died is claimed again once its lease has expired. The finished file is stored in the
database (sync.exports.files), so any host can serve it; runners delete files past their
retention. Access to a file is decided by the web layer.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..models import Campaign, utcnow
from .files import ChunkWriter, LeaseLost, discard_pieces, prune_exports
from .kinds import JobError, build_tables
from .models import KINDS, LEASE, MAX_ATTEMPTS, ExportJob, JobStatus
from .xlsx import write_xlsx

__all__ = ["LeaseLost", "ExportRunner", "claim_next", "create_job", "run_job", "run_next"]

log = logging.getLogger(__name__)

#: how long finished files are kept, by default (EXPORT_RETENTION_DAYS)
RETENTION = timedelta(days=7)
#: files with personal data (phone numbers), by default (EXPORT_PERSONAL_RETENTION_HOURS)
PERSONAL_RETENTION = timedelta(hours=24)
#: a runner deletes expired files this often
PRUNE_EVERY = timedelta(minutes=10)
#: what a failed job shows unless it failed for a reason the person can fix (JobError); the
#: details (SQL, parameters) go to the log only
FAILED_TEXT = "导出失败，请重试；如仍失败请联系管理员。"


def create_job(session: Session, campaign: Campaign, requested_by_id: int | None, kind: str,
               filters: dict[str, Any], unit_ids: set[int] | None,
               personal: bool = False) -> ExportJob:
    """Queue an export; the caller commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    job = ExportJob(campaign_id=campaign.id, requested_by_id=requested_by_id, kind=kind,
                    filters=filters, unit_ids=sorted(unit_ids) if unit_ids is not None else None,
                    status=JobStatus.QUEUED.value, rows_done=0, attempts=0, personal=personal)
    session.add(job)
    session.flush()
    return job


def _runnable(now: datetime) -> Any:
    """Queued jobs, and running jobs whose runner stopped renewing its lease."""
    return and_(ExportJob.attempts < MAX_ATTEMPTS,
                or_(ExportJob.status == JobStatus.QUEUED.value,
                    and_(ExportJob.status == JobStatus.RUNNING.value,
                         ExportJob.heartbeat_at < now - LEASE)))


def claim_next(session: Session, worker: str, now: datetime | None = None) -> int | None:
    """Claim the oldest runnable job for `worker`; return its id, or None when there is none.

    The claim is the single conditional UPDATE: of two runners that pick the same candidate,
    the second finds the condition false (PostgreSQL re-checks it on the updated row) and
    moves on to the next candidate.
    """
    now = now or utcnow()
    _fail_exhausted(session, now)
    candidates = session.scalars(select(ExportJob.id).where(_runnable(now))
                                 .order_by(ExportJob.id).limit(10)).all()
    session.rollback()
    for job_id in candidates:
        claimed = session.execute(
            update(ExportJob).where(ExportJob.id == job_id, _runnable(now))
            .values(status=JobStatus.RUNNING.value, worker=worker, started_at=now,
                    heartbeat_at=now, attempts=ExportJob.attempts + 1, rows_done=0,
                    error=None).execution_options(synchronize_session=False))
        session.commit()
        if claimed.rowcount == 1:
            return job_id
    return None


def _fail_exhausted(session: Session, now: datetime) -> None:
    """A job whose runner died MAX_ATTEMPTS times is failed rather than retried forever."""
    session.execute(
        update(ExportJob).where(ExportJob.status == JobStatus.RUNNING.value,
                                ExportJob.heartbeat_at < now - LEASE,
                                ExportJob.attempts >= MAX_ATTEMPTS)
        .values(status=JobStatus.FAILED.value, finished_at=now,
                error="导出多次中断，请重新导出。").execution_options(synchronize_session=False))
    session.commit()


def _owned_update(session: Session, job_id: int, worker: str, **values: Any) -> None:
    """Update our own job; LeaseLost when another runner has taken it over."""
    result = session.execute(
        update(ExportJob).where(ExportJob.id == job_id, ExportJob.worker == worker,
                                ExportJob.status == JobStatus.RUNNING.value)
        .values(**values).execution_options(synchronize_session=False))
    session.commit()
    if result.rowcount != 1:
        raise LeaseLost(f"export job {job_id} is no longer held by {worker}")


def run_job(session: Session, job_id: int, worker: str) -> None:
    """Build a claimed job's file into the database, reporting progress; record the outcome.

    The file's pieces are stored as they are written, under this attempt's number, and the
    job is marked done only when the last one is in, so a download never sees half a file.
    Pieces an earlier, dead attempt left are removed first. A failure is recorded with its
    message (FAILED_TEXT but for a JobError) and its pieces removed, the details logged; a
    lost lease leaves the job to the runner that took it.

    The tables are read through `session` (the ledger with a server-side cursor on
    PostgreSQL); progress, pieces and the outcome are written through a session of their
    own, so their commits never close that cursor.
    """
    job = session.get(ExportJob, job_id)
    assert job is not None and job.worker == worker
    attempt = job.attempts
    try:
        discard_pieces(session, job_id, keep_attempt=attempt)
        tables, total = build_tables(session, job)
        _owned_update(session, job_id, worker, rows_total=total, heartbeat_at=utcnow())
        done = 0
        with Session(session.get_bind()) as writes:

            def progress(rows: int) -> None:
                nonlocal done
                done += rows
                _owned_update(writes, job_id, worker, rows_done=done, heartbeat_at=utcnow())

            sink = ChunkWriter(writes, job_id, attempt, worker)
            write_xlsx(sink, tables, progress=progress)
            sink.close()
            session.rollback()  # end the read transaction
            _owned_update(writes, job_id, worker, status=JobStatus.DONE.value,
                          byte_size=sink.size, rows_done=done, finished_at=utcnow())
    except LeaseLost:
        session.rollback()
        log.warning("export job %s was taken over by another runner", job_id)
    except Exception as exc:  # recorded on the job for the person waiting for it
        session.rollback()
        log.exception("export job %s failed", job_id)
        error = f"导出失败：{exc.message}" if isinstance(exc, JobError) else FAILED_TEXT
        try:
            _owned_update(session, job_id, worker, status=JobStatus.FAILED.value,
                          error=error[:2000], finished_at=utcnow())
            discard_pieces(session, job_id)
        except LeaseLost:
            pass


def run_next(engine: Engine, worker: str | None = None,
             now: datetime | None = None) -> int | None:
    """Claim and run one job; return its id, or None when nothing was waiting."""
    worker = worker or new_worker_id()
    with Session(engine) as session:
        job_id = claim_next(session, worker, now)
        if job_id is not None:
            run_job(session, job_id, worker)
        return job_id


def new_worker_id() -> str:
    return f"{os.getpid()}-{secrets.token_hex(6)}"


@dataclass(frozen=True)
class JobView:
    """What the progress page and its JSON poll show."""

    status: str
    rows_done: int
    rows_total: int | None
    error: str | None

    @property
    def percent(self) -> int:
        if self.status in (JobStatus.DONE.value, JobStatus.EXPIRED.value):
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)


def job_view(job: ExportJob, expired: bool = False) -> JobView:
    """`expired`: the file is past its retention (files.is_expired), pruned yet or not."""
    status = JobStatus.EXPIRED.value if expired else job.status
    return JobView(status, job.rows_done, job.rows_total, job.error)


class ExportRunner:
    """A daemon thread of the app process that runs queued jobs one at a time and, every
    PRUNE_EVERY, deletes finished files past their retention.

    Every process may run one: the claim keeps each job to a single runner. `wake()` starts
    the next look at once (a job queued by this process); otherwise it looks every `poll`
    seconds, which also picks up jobs whose runner died.
    """

    def __init__(self, engine: Engine, poll: float = 5.0, retention: timedelta = RETENTION,
                 personal_retention: timedelta = PERSONAL_RETENTION,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.engine = engine
        self.poll = poll
        self.retention = retention
        self.personal_retention = personal_retention
        self.worker = new_worker_id()
        self.pruned_at: datetime | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="export-runner", daemon=True)
        self.on_error = on_error

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def prune_if_due(self, now: datetime | None = None) -> int:
        """Delete expired files when the last look is PRUNE_EVERY old; return how many."""
        now = now or utcnow()
        if self.pruned_at is not None and now - self.pruned_at < PRUNE_EVERY:
            return 0
        self.pruned_at = now
        with Session(self.engine) as session:
            return prune_exports(session, self.retention, self.personal_retention, now)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.prune_if_due()
                while not self._stop.is_set() and run_next(self.engine,
                                                           self.worker) is not None:
                    pass
            except Exception as exc:  # the store was unreachable: try again on the next poll
                log.exception("export runner")
                if self.on_error:
                    self.on_error(exc)
            self._wake.wait(self.poll)
            self._wake.clear()
