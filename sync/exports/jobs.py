"""Durable export jobs: an XLSX file is built by a background runner, never inside a request.

A job row records who asked for what (campaign, table, filter, the units they may see); a runner
claims it with one conditional UPDATE, so two threads, processes or hosts never build the same
job, and keeps a lease alive while it writes. A job left `running` by a process that died is
claimed again once its lease has expired. The finished file sits in a folder the caller names
(the app's instance folder); access to it is decided by the web layer.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..models import Campaign, Response, utcnow
from .models import KINDS, LEASE, MAX_ATTEMPTS, ExportJob, JobStatus

if TYPE_CHECKING:
    from .table import Table

log = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """Another runner took the job over (our lease expired); stop without touching it."""


def create_job(session: Session, campaign: Campaign, requested_by_id: int | None, kind: str,
               filters: dict[str, Any], unit_ids: set[int] | None) -> ExportJob:
    """Queue an export; the caller commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    job = ExportJob(campaign_id=campaign.id, requested_by_id=requested_by_id, kind=kind,
                    filters=filters, unit_ids=sorted(unit_ids) if unit_ids is not None else None,
                    status=JobStatus.QUEUED.value, rows_done=0, attempts=0)
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


def build_tables(session: Session, job: ExportJob) -> tuple[list[Table], int]:
    """The sheets of a job and the number of rows it will write (for the progress bar)."""
    # Imported here: sync.models imports the package for its tables, before reports exist.
    from ..reports import campaign_tally, parse_filter
    from .responses import responses_table
    from .table import Table
    from .tables import rankings_table, tallies_table

    campaign = session.get(Campaign, job.campaign_id)
    if campaign is None:
        raise ValueError("评议活动已不存在。")
    f = job.filters or {}
    tally_filter = parse_filter(f.get("channel", []), f.get("identity", []), f.get("from", ""),
                                f.get("to", ""),
                                [c.key for c in campaign.questionnaire.identities])
    visible = set(job.unit_ids) if job.unit_ids is not None else None
    tables: list[Table] = []
    total = 0
    if job.kind in ("responses", "all"):
        # Fraud signals are for admins: a unit must not learn how its raters are screened.
        tables.append(responses_table(session, campaign, tally_filter, visible,
                                      with_signals=visible is None, guard_formulas=False))
        where = [Response.campaign_id == campaign.id, *tally_filter.conditions()]
        if visible is not None:
            where.append(Response.unit_id.in_(sorted(visible)))
        total += session.scalar(select(func.count()).select_from(Response).where(*where)) or 0
    if job.kind != "responses":
        tally = campaign_tally(session, campaign, tally_filter).restricted(visible)
        for kind, make in (("tallies", tallies_table), ("rankings", rankings_table)):
            if job.kind in (kind, "all"):
                table = make(tally)
                rows = list(table.rows)
                tables.append(Table(table.title, table.headers, rows))
                total += len(rows)
    return tables, total


def run_job(session: Session, job_id: int, worker: str, directory: Path) -> None:
    """Build a claimed job's file, reporting progress; record the outcome on the job.

    The file is written under a temporary name and renamed when complete, so a download never
    sees half a file. A failure is recorded with its message; a lost lease leaves the job to
    the runner that took it over.
    """
    job = session.get(ExportJob, job_id)
    assert job is not None and job.worker == worker
    directory.mkdir(parents=True, exist_ok=True)
    name = f"export-{job_id}-{secrets.token_hex(8)}.xlsx"
    partial = directory / (name + ".part")
    try:
        tables, total = build_tables(session, job)
        _owned_update(session, job_id, worker, rows_total=total, heartbeat_at=utcnow())
        done = 0

        def progress(rows: int) -> None:
            nonlocal done
            done += rows
            _owned_update(session, job_id, worker, rows_done=done, heartbeat_at=utcnow())

        from .xlsx import write_xlsx  # see build_tables

        with partial.open("wb") as fh:
            write_xlsx(fh, tables, progress=progress)
        os.replace(partial, directory / name)
        _owned_update(session, job_id, worker, status=JobStatus.DONE.value, file_name=name,
                      rows_done=done, finished_at=utcnow())
    except LeaseLost:
        session.rollback()
        partial.unlink(missing_ok=True)
        log.warning("export job %s was taken over by another runner", job_id)
    except Exception as exc:  # recorded on the job for the person waiting for it
        session.rollback()
        partial.unlink(missing_ok=True)
        (directory / name).unlink(missing_ok=True)
        log.exception("export job %s failed", job_id)
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        try:
            _owned_update(session, job_id, worker, status=JobStatus.FAILED.value,
                          error=f"导出失败：{message}"[:2000], finished_at=utcnow())
        except LeaseLost:
            pass


def run_next(engine: Engine, directory: Path, worker: str | None = None,
             now: datetime | None = None) -> int | None:
    """Claim and run one job; return its id, or None when nothing was waiting."""
    worker = worker or new_worker_id()
    with Session(engine) as session:
        job_id = claim_next(session, worker, now)
        if job_id is not None:
            run_job(session, job_id, worker, directory)
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
        if self.status == JobStatus.DONE.value:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)


def job_view(job: ExportJob) -> JobView:
    return JobView(job.status, job.rows_done, job.rows_total, job.error)


class ExportRunner:
    """A daemon thread of the app process that runs queued jobs one at a time.

    Every process may run one: the claim keeps each job to a single runner. `wake()` starts
    the next look at once (a job queued by this process); otherwise it looks every `poll`
    seconds, which also picks up jobs whose runner died.
    """

    def __init__(self, engine: Engine, directory: Path, poll: float = 5.0,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.engine = engine
        self.directory = directory
        self.poll = poll
        self.worker = new_worker_id()
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

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                while not self._stop.is_set() and run_next(self.engine, self.directory,
                                                           self.worker) is not None:
                    pass
            except Exception as exc:  # the store was unreachable: try again on the next poll
                log.exception("export runner")
                if self.on_error:
                    self.on_error(exc)
            self._wake.wait(self.poll)
            self._wake.clear()
