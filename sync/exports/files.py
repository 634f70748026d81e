"""Finished export files kept in the database: written in pieces while the workbook is zipped,
read back piece by piece for a download, deleted after their retention period.

The database is the one thing every app host shares, so any host can serve a file any host
built, without a shared folder; and a file with phone numbers never sits on a disk outside the
database (openpyxl spools each sheet to a 0600 temporary file while writing, removed when the
sheet is saved or the workbook fails). Pieces are written in short transactions, each checking
the runner still holds the job's lease, and only a job marked done is ever read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from ..db import write_transaction
from ..models import utcnow
from .models import ExportChunk, ExportJob, JobStatus

#: bytes per stored piece: small enough for any driver and memory, few rows per file
CHUNK_BYTES = 1 << 20


class LeaseLost(RuntimeError):
    """Another runner took the job over (our lease expired); stop without touching it."""


class FileGone(RuntimeError):
    """A piece of a file being downloaded was deleted (pruned) meanwhile: the download is
    aborted rather than ended short of the size it announced."""


class ChunkWriter:
    """A write-only, unseekable stream that stores what is written as pieces of a job's file
    (zipfile writes data descriptors instead of seeking back)."""

    def __init__(self, session: Session, job_id: int, attempt: int, worker: str,
                 chunk_bytes: int | None = None) -> None:
        self.session = session
        self.job_id = job_id
        self.attempt = attempt
        self.worker = worker
        self.chunk_bytes = chunk_bytes or CHUNK_BYTES
        self.buffer = bytearray()
        self.seq = 0
        self.size = 0

    def write(self, data: Any) -> int:
        self.buffer += data
        self.size += len(data)
        while len(self.buffer) >= self.chunk_bytes:
            self._store(bytes(self.buffer[:self.chunk_bytes]))
            del self.buffer[:self.chunk_bytes]
        return len(data)

    def flush(self) -> None:
        """Pieces are stored when full; `close()` stores the rest."""

    def close(self) -> None:
        if self.buffer or self.seq == 0:
            self._store(bytes(self.buffer))
            self.buffer.clear()

    def _store(self, data: bytes) -> None:
        """Store one piece and renew the lease, in one short write transaction; LeaseLost
        (and nothing stored) when another runner holds the job now."""
        with write_transaction(self.session):
            held = self.session.execute(
                update(ExportJob).where(ExportJob.id == self.job_id,
                                        ExportJob.worker == self.worker,
                                        ExportJob.status == JobStatus.RUNNING.value)
                .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))
            if held.rowcount != 1:
                raise LeaseLost(f"export job {self.job_id} is no longer held by {self.worker}")
            self.session.execute(insert(ExportChunk).values(
                job_id=self.job_id, attempt=self.attempt, seq=self.seq, data=data))
        self.seq += 1


def discard_pieces(session: Session, job_id: int, keep_attempt: int | None = None) -> None:
    """Delete a job's stored pieces (but those of `keep_attempt`)."""
    where = [ExportChunk.job_id == job_id]
    if keep_attempt is not None:
        where.append(ExportChunk.attempt != keep_attempt)
    with write_transaction(session):
        session.execute(delete(ExportChunk).where(*where))


def read_file(session: Session, job: ExportJob) -> Iterator[bytes]:
    """A done job's file, piece by piece, each read in its own short transaction (a slow
    download holds neither a transaction nor more than one piece in memory).

    :raise FileGone: (while iterating) the file was deleted before its last piece was read.
    """
    return _pieces(session, job.id, job.attempts, job.byte_size or 0)


def _pieces(session: Session, job_id: int, attempt: int, size: int) -> Iterator[bytes]:
    seq = sent = 0
    while True:
        try:
            data = session.scalar(select(ExportChunk.data).where(
                ExportChunk.job_id == job_id, ExportChunk.attempt == attempt,
                ExportChunk.seq == seq))
        finally:
            session.rollback()
        if data is None:
            if sent != size:
                raise FileGone(f"export job {job_id}: piece {seq} is gone after {sent} of "
                               f"{size} bytes")
            return
        if data:
            sent += len(data)
            yield bytes(data)
        seq += 1


def prune_exports(session: Session, retention: timedelta, personal_retention: timedelta,
                  now: datetime | None = None) -> int:
    """Delete the files of jobs done longer ago than their retention (files with personal
    data: `personal_retention`) and mark them expired; drop any pieces failed and expired jobs
    still hold. Returns how many files expired."""
    now = now or utcnow()
    due = and_(ExportJob.status == JobStatus.DONE.value, or_(
        ExportJob.finished_at < now - retention,
        and_(ExportJob.personal.is_(True), ExportJob.finished_at < now - personal_retention)))
    # is_expired below is this rule for one job: change both together
    with write_transaction(session):
        expired = session.execute(update(ExportJob).where(due).values(
            status=JobStatus.EXPIRED.value).execution_options(synchronize_session=False))
        session.execute(delete(ExportChunk).where(ExportChunk.job_id.in_(
            select(ExportJob.id).where(ExportJob.status.in_(
                [JobStatus.EXPIRED.value, JobStatus.FAILED.value])))))
    return expired.rowcount or 0


def is_expired(job: ExportJob, now: datetime, retention: timedelta,
               personal_retention: timedelta) -> bool:
    """Whether a job's file is gone or due to go: pruned already, or done longer ago than the
    retention `prune_exports` applies (the same rule, by the server's clock), so a file stops
    being served the moment it is due, not when a runner next prunes."""
    if job.status == JobStatus.EXPIRED.value:
        return True
    if job.status != JobStatus.DONE.value or job.finished_at is None:
        return False
    return (job.finished_at < now - retention
            or (job.personal and job.finished_at < now - personal_retention))
