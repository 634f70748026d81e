"""The central store's schema: typed SQLAlchemy 2 models on a plain DeclarativeBase."""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back time-zone aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Channel(enum.StrEnum):
    """How a rating was gathered (评议方式, seed 000)."""

    ONLINE = "online"
    SURVEY = "survey"
    VISIT = "visit"
    INDIVIDUAL = "individual"
    HOTLINE = "hotline"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS = {
    Channel.ONLINE: "线上评议",
    Channel.SURVEY: "问卷调查",
    Channel.VISIT: "入户访谈",
    Channel.INDIVIDUAL: "个别了解",
    Channel.HOTLINE: "热线监督",
}


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class FollowUpStatus(enum.StrEnum):
    """Where a comment's work record stands (整改台账)."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    #: answered with an explanation (e.g. outside the unit's remit, 已说明)
    EXPLAINED = "explained"

    @property
    def label(self) -> str:
        return FOLLOW_UP_LABELS[self]

    @property
    def is_closed(self) -> bool:
        return self in (FollowUpStatus.DONE, FollowUpStatus.EXPLAINED)


FOLLOW_UP_LABELS = {
    FollowUpStatus.PENDING: "待处理",
    FollowUpStatus.IN_PROGRESS: "处理中",
    FollowUpStatus.DONE: "已办结",
    FollowUpStatus.EXPLAINED: "已说明",
}


class CallbackResult(enum.StrEnum):
    """What the rater said when called back (回访)."""

    SATISFIED = "satisfied"
    BASIC = "basic"
    UNSATISFIED = "unsatisfied"
    UNREACHABLE = "unreachable"

    @property
    def label(self) -> str:
        return CALLBACK_LABELS[self]


CALLBACK_LABELS = {
    CallbackResult.SATISFIED: "满意",
    CallbackResult.BASIC: "基本满意",
    CallbackResult.UNSATISFIED: "不满意",
    CallbackResult.UNREACHABLE: "未联系上",
}


class Role(enum.StrEnum):
    ADMIN = "admin"
    SECRETARY = "secretary"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as the value strings, checked by a constraint on every backend.
    return Enum(cls, name=name, native_enum=False, create_constraint=True,
                values_callable=lambda e: [m.value for m in e], length=20)


class Questionnaire(Base):
    """A versioned form: ordered items on scales, identity choices. Frozen once used."""

    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: human title, e.g. 基层群众评议问卷调查表
    title: Mapped[str] = mapped_column(String(200))
    #: the built-in template this was made from, if any
    template_key: Mapped[str | None] = mapped_column(String(50))
    #: label of the free-text box (意见建议)
    comment_label: Mapped[str] = mapped_column(String(100), default="意见建议")
    #: whether the rater must say who they are
    identity_required: Mapped[bool] = mapped_column(Boolean, default=False)
    #: set when the first response arrives; a frozen questionnaire is never edited, only copied
    frozen_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: 1 for a fresh questionnaire; an edit of one in use makes a copy with version + 1
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: the version this one was copied from (its answers keep pointing there)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaires.id"))

    items: Mapped[list[QuestionnaireItem]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireItem.position",
        cascade="all, delete-orphan")
    identities: Mapped[list[IdentityChoice]] = relationship(
        order_by="IdentityChoice.position", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Questionnaire {self.id} {self.title!r}>"


class Scale(Base):
    """A rating scale (档次): ordered levels, each with a score out of 100."""

    __tablename__ = "scales"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    levels: Mapped[list[ScaleLevel]] = relationship(
        order_by="ScaleLevel.position", cascade="all, delete-orphan", lazy="selectin")

    def __repr__(self) -> str:
        return f"<Scale {self.id} {self.name!r}>"


class ScaleLevel(Base):
    __tablename__ = "scale_levels"
    __table_args__ = (
        UniqueConstraint("scale_id", "key"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(ForeignKey("scales.id", ondelete="CASCADE"))
    #: stable key sent by phones, e.g. "satisfied"
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    #: counts towards 满意率 (满意 and 基本满意)
    counts_satisfied: Mapped[bool] = mapped_column(Boolean, default=False)
    #: choosing this level requires a reason in the comment (好差评's low levels)
    needs_reason: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<ScaleLevel {self.key} {self.score}>"


class QuestionnaireItem(Base):
    """One thing rated (评议内容), e.g. 工作效率."""

    __tablename__ = "questionnaire_items"
    __table_args__ = (UniqueConstraint("questionnaire_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    #: weight in the overall score (equal weights by default)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    scale_id: Mapped[int] = mapped_column(ForeignKey("scales.id"))

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="items")
    scale: Mapped[Scale] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<QuestionnaireItem {self.key} {self.label!r}>"


class IdentityChoice(Base):
    """Who the rater is (评议人员身份), e.g. 企业服务对象."""

    __tablename__ = "identity_choices"
    __table_args__ = (UniqueConstraint("questionnaire_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)


class Campaign(Base):
    """One evaluation round (评议活动)."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("closes_on IS NULL OR opens_on IS NULL OR closes_on >= opens_on",
                        name="dates_ordered"),
        CheckConstraint("bottom_n >= 0", name="bottom_n_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus, "campaign_status"), default=CampaignStatus.OPEN)
    opens_on: Mapped[date | None] = mapped_column(Date)
    closes_on: Mapped[date | None] = mapped_column(Date)
    #: 评议监督电话 printed on posters
    supervision_phone: Mapped[str | None] = mapped_column(String(50))
    #: how many units at the bottom of each category are flagged for tracking
    bottom_n: Mapped[int] = mapped_column(Integer, default=2)
    #: below this many ratings a unit's score and rank carry a small-sample note
    min_ratings: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"))
    #: the earlier round these units are compared with
    previous_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: working days a follow-up has before it is overdue (seed 004: 5 个工作日; 1–22, checked
    #: by the settings form — a table constraint would make SQLite rebuild `campaigns`)
    followup_days: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    #: level keys whose choice opens a follow-up even without a comment (None: the defaults)
    followup_levels: Mapped[list[str] | None] = mapped_column(JSON)
    #: whether the public board (/b/<token>) is shown
    board_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: when the campaign was closed by hand (status CLOSED): late uploads are judged against it
    closed_at: Mapped[datetime | None]
    #: a rating made sooner than this after the form opened is flagged too_fast
    min_seconds: Mapped[int] = mapped_column(Integer, default=8, server_default="8")

    questionnaire: Mapped[Questionnaire] = relationship()

    @validates("status")
    def _stamp_closing(self, _key: str, status: CampaignStatus) -> CampaignStatus:
        # However the status is set, server time records the closing moment.
        if status == CampaignStatus.CLOSED and self.status != CampaignStatus.CLOSED:
            self.closed_at = utcnow()
        elif status != CampaignStatus.CLOSED:
            self.closed_at = None
        return status

    categories: Mapped[list[Category]] = relationship(
        back_populates="campaign", order_by="Category.position", cascade="all, delete-orphan")
    units: Mapped[list[Unit]] = relationship(
        back_populates="campaign", order_by="Unit.code", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Campaign {self.id} {self.title!r}>"


class Category(Base):
    """A ranking group (类别), e.g. 政府工作部门."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("campaign_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: set when archived: kept with its units' data, hidden from new set-up and rankings
    archived_at: Mapped[datetime | None] = mapped_column()

    campaign: Mapped[Campaign] = relationship(back_populates="categories")
    units: Mapped[list[Unit]] = relationship(back_populates="category", order_by="Unit.code")


class Unit(Base):
    """An office being rated (评议对象)."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    #: short code, unique per campaign, sent by phones
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    #: set when archived: keeps its ratings and exports, leaves links, posters, form and ranks
    archived_at: Mapped[datetime | None] = mapped_column()

    campaign: Mapped[Campaign] = relationship(back_populates="units")
    category: Mapped[Category] = relationship(back_populates="units")

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name!r}>"


class Visit(Base):
    """A field trip (走访): one link collects many raters."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    #: village or place visited
    place: Mapped[str] = mapped_column(String(200))
    staff_name: Mapped[str | None] = mapped_column(String(100))
    visit_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Visit {self.id} {self.place!r}>"


link_units = Table(
    "link_units",
    Base.metadata,
    Column(
        "link_id", ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
)


class Link(Base):
    """A signed URL for (campaign, unit set, channel[, visit]): a poster or one village visit."""

    __tablename__ = "links"
    __table_args__ = (
        CheckConstraint("(purpose = 'visit') = (visit_id IS NOT NULL)", name="visit_iff_purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    #: "poster" or "visit"; selects the signing salt
    purpose: Mapped[str] = mapped_column(String(10))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    #: code for the short /q/<code> redirect that keeps QR codes low-density
    short_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    #: lifetime of the signed token in seconds, if limited
    max_age: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    #: the link that replaced this one when it was revoked and reissued
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("links.id"))
    #: a personal link's sample-pool rater (purpose "personal"): one rating per unit
    rater_id: Mapped[int | None] = mapped_column(ForeignKey("pool_raters.id"))

    units: Mapped[list[Unit]] = relationship(secondary=link_units, order_by="Unit.code")
    visit: Mapped[Visit | None] = relationship()
    campaign: Mapped[Campaign] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def __repr__(self) -> str:
        return f"<Link {self.id} {self.purpose} {self.channel}>"


class Response(Base):
    """One rater's answers (评议结果). Identified by the UUID the phone made; never deleted."""

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_campaign_unit", "campaign_id", "unit_id"),
        Index("ix_responses_device_unit", "device_id", "unit_id"),
        # A pool rater rates each unit at most once, whatever the response ids (seed 004).
        Index("uq_responses_rater_unit", "rater_id", "unit_id", unique=True,
              sqlite_where=text("rater_id IS NOT NULL"),
              postgresql_where=text("rater_id IS NOT NULL")),
        # fraud signals group one campaign's ratings by device and by address
        Index("ix_responses_campaign_device", "campaign_id", "device_id"),
        Index("ix_responses_campaign_client_ip", "campaign_id", "client_ip"),
        # the dashboard's latest comments, newest first, without a scan
        Index("ix_responses_campaign_received", "campaign_id", "received_at"),
        # keyset pages of the responses export
        Index("ix_responses_campaign_created", "campaign_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: client-made UUID: the dedupe key, unique across the store
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    device_id: Mapped[str | None] = mapped_column(String(64))
    #: the address the rating was uploaded from (evidence for the burst signal, never access)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    identity_key: Mapped[str | None] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    #: when the rater submitted, by the phone's clock
    created_at: Mapped[datetime]
    #: when the store first received it
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: SHA-256 of the canonical content: tells a harmless resend from a conflicting one
    content_hash: Mapped[str] = mapped_column(String(64))
    #: review flags, e.g. ["repeat_device"]; responses are flagged, never deleted
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: a poster rating from a device that already rated this unit: kept, but not tallied
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: set from a signed personal link: the pool rater (their name never sits here)
    rater_id: Mapped[int | None] = mapped_column(ForeignKey("pool_raters.id"))
    #: a correction or void names the rating it replaces (its UUID); evidence from the phone
    replaces: Mapped[str | None] = mapped_column(String(36), index=True)
    #: a void: withdraws the rating it replaces, with a reason; never counted itself
    is_void: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    void_reason: Mapped[str | None] = mapped_column(Text)
    #: set (once) when a later version from the same link and phone replaced this one
    superseded_by: Mapped[str | None] = mapped_column(String(36))
    superseded_at: Mapped[datetime | None]
    #: when the server issued the form receipt the phone sent with it (form opened), if any
    receipt_issued_at: Mapped[datetime | None]
    #: set when an admin excludes the rating from tallies (a fraud flag, an upheld appeal);
    #: the row stays and exports show it marked. See sync.integrity.exclusions.
    excluded_at: Mapped[datetime | None]
    exclusion_reason: Mapped[str | None] = mapped_column(Text)
    excluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan")
    unit: Mapped[Unit] = relationship()
    visit: Mapped[Visit | None] = relationship()

    def __repr__(self) -> str:
        return f"<Response {self.uuid}>"


class Answer(Base):
    """One item's level within a response; the score is copied so later edits never change it."""

    __tablename__ = "answers"
    __table_args__ = (CheckConstraint("score >= 0 AND score <= 100", name="score_range"),)

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_items.id"), primary_key=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("scale_levels.id"))
    score: Mapped[int] = mapped_column(Integer)


class FollowUp(Base):
    """A comment's or low rating's work record (整改), opened when the rating is stored."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        CheckConstraint("(status IN ('done', 'explained')) = (closed_on IS NOT NULL)",
                        name="closed_iff_closed_status"),
        # the ledger's three orders/filters: newest first, by deadline, by owner unit
        Index("ix_follow_ups_campaign_id", "campaign_id", "id"),
        Index("ix_follow_ups_campaign_due", "campaign_id", "due_on"),
        Index("ix_follow_ups_campaign_owner", "campaign_id", "owner_unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the rating this answers; one record per response
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    #: the unit responsible for handling it (the rated unit unless an admin moves it)
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"),
                                               index=True)
    status: Mapped[FollowUpStatus] = mapped_column(
        _enum(FollowUpStatus, "follow_up_status"), default=FollowUpStatus.PENDING)
    #: the local day it was opened (the rating reached the store)
    opened_on: Mapped[date | None] = mapped_column(Date)
    #: what was done or explained (办理情况 / 答复)
    reply: Mapped[str | None] = mapped_column(Text)
    #: rectification measures taken (整改措施)
    measures: Mapped[str | None] = mapped_column(Text)
    #: the day the reply was given
    replied_on: Mapped[date | None] = mapped_column(Date)
    #: deadline in working days from opening (整改时限); extensions move it
    due_on: Mapped[date | None] = mapped_column(Date)
    #: who allowed an extension, when and why (seed 004: 经受理部门同意, 最长不超过一个月)
    extended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    extended_at: Mapped[datetime | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    #: the call-back to the rater (回访) and its day
    callback_result: Mapped[CallbackResult | None] = mapped_column(
        _enum(CallbackResult, "callback_result"))
    callback_on: Mapped[date | None] = mapped_column(Date)
    #: times reopened after an unsatisfied call-back
    reopened_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the day it was marked 已办结 or 已说明
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    response: Mapped[Response] = relationship()
    owner_unit: Mapped[Unit] = relationship()

    def is_overdue(self, today: date) -> bool:
        """Still open after its deadline."""
        return not self.status.is_closed and self.due_on is not None and self.due_on < today

    def __repr__(self) -> str:
        return f"<FollowUp {self.response_id} {self.status}>"


class Conflict(Base):
    """A resend with a known UUID but different content, kept whole for review."""

    __tablename__ = "conflicts"
    __table_args__ = (UniqueConstraint("uuid", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(64))
    #: the item exactly as the phone sent it
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class User(Base):
    """A cadre account: an admin, or a unit secretary limited to their units."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.SECRETARY)
    display_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    units: Mapped[list[Unit]] = relationship(secondary="user_units")

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


user_units = Table(
    "user_units",
    Base.metadata,
    Column(
        "user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
)


# Tables defined in feature modules register on Base.metadata when imported.
from . import audit  # noqa: E402,F401,I001
from .followups import models as _followup_models  # noqa: E402,F401  (tables on Base.metadata)
from . import link_cache as _link_cache  # noqa: E402,F401
from .integrity import repeats as _repeats  # noqa: E402,F401
from .pool import models as _pool_models  # noqa: E402,F401
from .programmes import models as _programme_models  # noqa: E402,F401
from .push import models as _push_models  # noqa: E402,F401
from .reports import totals as _totals  # noqa: E402,F401
from .exports import models as _export_models  # noqa: E402,F401
