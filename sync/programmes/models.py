"""Tables of a campaign's scoring programme: methods, imported method scores, deductions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..models import Base, Unit, utcnow

#: source of a method's scores: ratings gathered through channels, or a sheet per unit
SOURCE_RATINGS = "ratings"
SOURCE_IMPORT = "import"


class Programme(Base):
    """How a campaign turns ratings into scores (评议方案): caps, grades, bottom and top N."""

    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("bottom_n >= 0", name="bottom_n_positive"),
        CheckConstraint("top_n >= 0", name="top_n_positive"),
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    #: units flagged at the bottom of each method and of the composite (seed 004: 3)
    bottom_n: Mapped[int] = mapped_column(Integer, default=3)
    #: units named at the top (seed 003: 前三名为满意科室)
    top_n: Mapped[int] = mapped_column(Integer, default=3)
    #: [{"label", "min"}], highest first; min null = everything below
    grades: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: {source: cap in points or null (uncapped)}; a deduction's source must be listed
    deduction_caps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    methods: Mapped[list[ProgrammeMethod]] = relationship(
        order_by="ProgrammeMethod.position", cascade="all, delete-orphan",
        primaryjoin="Programme.campaign_id == foreign(ProgrammeMethod.campaign_id)")


class ProgrammeMethod(Base):
    """One independently scored stream (测评方式), each out of 100."""

    __tablename__ = "programme_methods"
    __table_args__ = (
        UniqueConstraint("campaign_id", "key"),
        CheckConstraint("weight >= 0", name="weight_positive"),
        CheckConstraint("source IN ('ratings', 'import')", name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("programmes.campaign_id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    weight: Mapped[Decimal] = mapped_column(Numeric(9, 4))
    #: "ratings" (gathered through `channels`) or "import" (a sheet of scores per unit)
    source: Mapped[str] = mapped_column(String(10))
    #: channel values whose ratings this method counts (source "ratings")
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<ProgrammeMethod {self.key} {self.weight}>"


class MethodScore(Base):
    """A unit's score out of 100 for an imported method (e.g. the third-party survey)."""

    __tablename__ = "method_scores"
    __table_args__ = (
        UniqueConstraint("campaign_id", "method_key", "unit_id"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    method_key: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    score: Mapped[Decimal] = mapped_column(Numeric(9, 4))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deduction(Base):
    """A per-unit score adjustment (减分) with its reason; withdrawn, never deleted."""

    __tablename__ = "deductions"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        Index("ix_deductions_campaign_unit", "campaign_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    #: who reported it, e.g. 纪委监委, 媒体; a key of the programme's deduction_caps
    source: Mapped[str] = mapped_column(String(50))
    #: points taken off (positive)
    points: Mapped[Decimal] = mapped_column(Numeric(9, 4))
    reason: Mapped[str] = mapped_column(Text)
    #: the document or report that proves it (正式文件 number, media item…)
    evidence: Mapped[str | None] = mapped_column(Text)
    day: Mapped[date | None] = mapped_column(Date)
    entered_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set when withdrawn (an error, an upheld objection); withdrawn ones do not count
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[Unit] = relationship()

    def __repr__(self) -> str:
        return f"<Deduction {self.unit_id} {self.source} -{self.points}>"
