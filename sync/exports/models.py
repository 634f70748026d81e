"""Export jobs and their files: who asked for which file, its progress, its runner's lease, and
the finished file itself, kept in the database in pieces so any host can serve it."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base, UTCDateTime, utcnow

#: what a job exports: one table of a campaign's results, the three-sheet workbook, or the
#: follow-up ledger (整改台账)
KINDS = {"responses": "评议结果", "tallies": "分项统计", "rankings": "排名",
         "all": "评议结果、分项统计、排名", "ledger": "整改台账"}
#: a running job whose heartbeat is older than this is taken to be orphaned and runs again
LEASE = timedelta(minutes=10)
#: a job that has been started this often without finishing is failed instead of retried
MAX_ATTEMPTS = 3


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    #: done, and its file deleted after the retention period (prune_exports)
    EXPIRED = "expired"


class ExportJob(Base):
    """One requested export file and its progress."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'expired')",
                        name="status"),
        CheckConstraint("kind IN ('responses', 'tallies', 'rankings', 'all', 'ledger')",
                        name="kind"),
        Index("ix_export_jobs_status_heartbeat", "status", "heartbeat_at"),
        Index("ix_export_jobs_status_finished", "status", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"),
                                             index=True)
    #: who asked; only they (or an admin) may download the file
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: the filters of the page the export was started from (TallyFilter.to_params(), or the
    #: ledger's status/overdue/unit/sort)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the unit ids the requester could see when asking (None = all: an admin)
    unit_ids: Mapped[list[int] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=JobStatus.QUEUED.value)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    #: the file holds personal data (the ledger with phone numbers): admins only, every
    #: download audited, kept for a shorter time
    personal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: size of the finished file (its pieces are ExportChunk rows of the finishing attempt)
    byte_size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    #: random token of the runner holding the lease; every write checks it
    worker: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def download_name(self) -> str:
        if self.kind == "ledger":
            return f"campaign-{self.campaign_id}-followups.xlsx"
        return f"campaign-{self.campaign_id}-{self.kind}.xlsx"

    @property
    def label(self) -> str:
        """What the file holds, for the progress page."""
        return KINDS[self.kind] + ("（含联系电话）" if self.personal else "")

    def __repr__(self) -> str:
        return f"<ExportJob {self.id} {self.kind} {self.status}>"


class ExportChunk(Base):
    """One piece (up to CHUNK_BYTES) of a finished export file, in order by `seq`.

    Pieces belong to one attempt of a job: a runner that loses its lease can never mix its
    pieces into the file of the runner that took over, and a new attempt first removes what
    an earlier, dead one left.
    """

    __tablename__ = "export_chunks"

    job_id: Mapped[int] = mapped_column(ForeignKey("export_jobs.id", ondelete="CASCADE"),
                                        primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
