"""The export job row: who asked for which file, its progress and its runner's lease."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base, UTCDateTime, utcnow

#: what a job exports: one table, or the three-sheet workbook
KINDS = {"responses": "评议结果", "tallies": "分项统计", "rankings": "排名",
         "all": "评议结果、分项统计、排名"}
#: a running job whose heartbeat is older than this is taken to be orphaned and runs again
LEASE = timedelta(minutes=10)
#: a job that has been started this often without finishing is failed instead of retried
MAX_ATTEMPTS = 3


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportJob(Base):
    """One requested export file and its progress."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("kind IN ('responses', 'tallies', 'rankings', 'all')", name="kind"),
        Index("ix_export_jobs_status_heartbeat", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"),
                                             index=True)
    #: who asked; only they (or an admin) may download the file
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: TallyFilter.to_params() of the page the export was started from
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the unit ids the requester could see when asking (None = all: an admin)
    unit_ids: Mapped[list[int] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=JobStatus.QUEUED.value)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    #: file name inside the exports folder, set when done
    file_name: Mapped[str | None] = mapped_column(String(120))
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
        return f"campaign-{self.campaign_id}-{self.kind}.xlsx"

    def __repr__(self) -> str:
        return f"<ExportJob {self.id} {self.kind} {self.status}>"
