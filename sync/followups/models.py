"""Tables of the follow-up feature: call-back contacts, appeals, double-entry paper staging."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..models import Base, Response, User, _enum, utcnow


class ResponseContact(Base):
    """A phone number a rater chose to leave for a call-back (实名回访).

    Kept apart from the rating: never in the response row, its meta, results, default exports or
    the public board; shown only to the owner unit's secretary and admins.
    """

    __tablename__ = "response_contacts"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    #: normalised: digits, with one hyphen after a landline's area code
    phone: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppealKind(enum.StrEnum):
    MALICIOUS = "malicious"
    MISTAKEN = "mistaken"

    @property
    def label(self) -> str:
        return {"malicious": "恶意差评", "mistaken": "误评"}[self.value]


class AppealDecision(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"pending": "待复核", "upheld": "申诉成立", "rejected": "申诉驳回"}[self.value]


class Appeal(Base):
    """A unit's appeal against one rating (申诉复核); one per rating, decided once by an admin."""

    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_campaign_unit", "campaign_id", "unit_id", "decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the rating appealed; unique, so two secretaries appealing at once make one appeal
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    #: the appealing (rated) unit
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    kind: Mapped[AppealKind] = mapped_column(_enum(AppealKind, "appeal_kind"))
    reason: Mapped[str] = mapped_column(Text)
    #: what supports it (a note: call record, CCTV time, document number…)
    evidence: Mapped[str | None] = mapped_column(Text)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[AppealDecision] = mapped_column(
        _enum(AppealDecision, "appeal_decision"), default=AppealDecision.PENDING)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]

    response: Mapped[Response] = relationship()
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    def __repr__(self) -> str:
        return f"<Appeal {self.id} {self.decision}>"


class PaperEntry(Base):
    """One keying of a paper sheet in double-entry mode: pass 1 and pass 2 are compared."""

    __tablename__ = "paper_entries"
    __table_args__ = (UniqueConstraint("campaign_id", "sheet_no", "pass_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    #: the number written on the paper sheet (问卷编号)
    sheet_no: Mapped[str] = mapped_column(String(40))
    #: 1 = first keying, 2 = second keying by another person
    pass_no: Mapped[int] = mapped_column(Integer)
    #: what was keyed: unit, answers, identity, comment
    payload: Mapped[dict[str, Any]] = mapped_column()
    keyed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    keyed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set when a matching pair was merged into the store
    merged_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
