"""Links and questionnaires resolved once per worker, and dropped the moment any of them changes.

Every ORM flush that touches a campaign, unit, link, visit or questionnaire row bumps one
counter (`ConfigVersion`) in the same transaction. A sync batch reads that counter inside its
own write transaction (riding on its INSERT's RETURNING) and, when it moved, throws the worker's
cache away and runs again, so a revoked link or a new questionnaire version is seen at once on
every worker and every host. Everything cached is plain frozen data, never ORM objects, so it
outlives the session that loaded it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Integer, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from qr.links import CampaignUnknown, LinkClaims, LinkError, LinkRevoked, LinkSigner

from .models import (
    Base,
    Campaign,
    CampaignStatus,
    Category,
    Channel,
    IdentityChoice,
    Link,
    Questionnaire,
    QuestionnaireItem,
    Scale,
    ScaleLevel,
    Unit,
    Visit,
)
from .push.models import Webhook

#: changes to these rows may change what a token resolves to or how answers are checked
WATCHED = (Campaign, Category, Unit, Link, Visit, Questionnaire, QuestionnaireItem,
           IdentityChoice, Scale, ScaleLevel, Webhook)


class ConfigVersion(Base):
    """One row (id 1) whose value moves whenever a watched row changes."""

    __tablename__ = "config_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


def bump_version(session: Session) -> None:
    """Move the counter (creating its row if needed) in the session's transaction."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    stmt = insert(ConfigVersion).values(id=1, value=1)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["id"], set_={"value": ConfigVersion.value + 1}))


@event.listens_for(Session, "before_flush")
def _bump_on_config_change(session: Session, _context: Any, _instances: Any) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, WATCHED) for obj in changed):
        bump_version(session)


def version_query():  # type: ignore[no-untyped-def]
    """Scalar subquery of the current version (NULL before the first bump, read as 0)."""
    return select(ConfigVersion.value).where(ConfigVersion.id == 1).scalar_subquery()


_READ_VERSION = select(ConfigVersion.value).where(ConfigVersion.id == 1)


_PIN_VERSION = _READ_VERSION.with_for_update(read=True)


def read_version(target: Session | Connection, pin: bool = False) -> int:
    """The store's config version; with `pin`, no admin change can move it until the caller's
    transaction ends (FOR SHARE on PostgreSQL; a SQLite writer already excludes all others)."""
    conn = target if isinstance(target, Connection) else target.connection()
    return conn.scalar(_PIN_VERSION if pin else _READ_VERSION) or 0


@dataclass(frozen=True)
class LinkRow:
    id: int
    channel: Channel
    visit_id: int | None
    revoked_at: datetime | None
    #: a personal link's pool rater (sync.pool): one rating per unit
    rater_id: int | None = None


@dataclass(frozen=True)
class CampaignRow:
    """What check_campaign_open and the merge read of a campaign."""

    id: int
    title: str
    status: CampaignStatus
    opens_on: date | None
    closes_on: date | None
    closed_at: datetime | None
    questionnaire_id: int
    #: follow-up rules the merge applies when it stores a rating (sync.followups.intake)
    followup_days: int = 5
    followup_levels: tuple[str, ...] | None = None
    #: has an enabled webhook (sync.push): stored ratings get an outbox row
    pushes: bool = False


@dataclass(frozen=True)
class UnitRow:
    id: int
    code: str
    #: archived units leave the form; a rating begun before then needs its receipt
    archived_at: datetime | None = None


@dataclass(frozen=True)
class LinkSnapshot:
    """A link row with its campaign and units, as plain data."""

    link: LinkRow
    campaign: CampaignRow
    units: tuple[UnitRow, ...]

    @classmethod
    def of(cls, link: Link) -> LinkSnapshot:
        c = link.campaign
        hook = object_session(link).get(Webhook, c.id)  # type: ignore[union-attr]
        return cls(
            LinkRow(link.id, link.channel, link.visit_id, link.revoked_at, link.rater_id),
            CampaignRow(c.id, c.title, c.status, c.opens_on, c.closes_on, c.closed_at,
                        c.questionnaire_id, c.followup_days,
                        None if c.followup_levels is None else tuple(c.followup_levels),
                        hook is not None and hook.enabled),
            tuple(UnitRow(u.id, u.code, u.archived_at) for u in link.units))


@dataclass(frozen=True)
class CachedLink:
    """A verified token: its claims, its snapshot and the units the claims still name."""

    claims: LinkClaims
    snapshot: LinkSnapshot
    units: tuple[UnitRow, ...]

    @property
    def link(self) -> LinkRow:
        return self.snapshot.link

    @property
    def campaign(self) -> CampaignRow:
        return self.snapshot.campaign

    @property
    def channel(self) -> Channel:
        return self.snapshot.link.channel

    def unit_by_code(self, code: str | None) -> UnitRow | None:
        """The unit named by `code`, or the only unit when the link names one."""
        if code is None:
            return self.units[0] if len(self.units) == 1 else None
        return next((u for u in self.units if u.code == code), None)


@dataclass
class _State:
    version: int
    snapshots: dict[int, LinkSnapshot | None] = field(default_factory=dict)
    claims: dict[str, LinkClaims] = field(default_factory=dict)
    indexes: dict[int, Any] = field(default_factory=dict)


class LinkCache:
    """A worker's cache of link snapshots, verified claims and questionnaire indexes.

    Optimistic: a batch validates against the cache as it stands, then reads the version in its
    own write transaction (in the RETURNING of its insert, so at no extra statement) and starts
    again from an empty cache if the version moved. Thread-safe by construction: a batch works
    on one `_State`, replaced whole when the version moves.
    """

    def __init__(self) -> None:
        self._state = _State(version=-1)
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        """The version the cache holds entries for (-1: none known yet)."""
        return self._state.version

    def view(self, session: Session) -> LinkView:
        """The cache for one batch; reads the version only when none is known yet."""
        state = self._state
        if state.version < 0:
            self.confirm(state.version, read_version(session))
            state = self._state
        return LinkView(state, session)

    def confirm(self, assumed: int, observed: int) -> bool:
        """True when the batch's view was current; else drop the cache (now at `observed`).

        Versions only grow: a slow batch that observed an older one never puts it back.
        """
        if assumed == observed:
            return True
        with self._lock:
            if self._state.version < observed:
                self._state = _State(observed)
        return False


class LinkView:
    """The cache seen by one batch, loading what it misses through the batch's session."""

    def __init__(self, state: _State, session: Session) -> None:
        self._state = state
        self._session = session
        #: the config version this view's entries are valid for
        self.version = state.version

    def _snapshot(self, link_id: int) -> LinkSnapshot | None:
        if link_id not in self._state.snapshots:
            link = self._session.get(Link, link_id)
            self._state.snapshots[link_id] = None if link is None else LinkSnapshot.of(link)
        return self._state.snapshots[link_id]

    def resolve(self, signer: LinkSigner, token: str) -> CachedLink:
        """Verify a token, accepting revoked and expired links and closed campaigns: the
        caller judges those per rating, by its form receipt (sync.integrity.receipts).

        :raise LinkError: tampered, truncated or unknown.
        """
        claims = self._state.claims.get(token)
        if claims is None:
            claims = signer.verify_any(token, lambda link_id: self._snapshot(link_id) is None,
                                       accept_expired=True)
            self._state.claims[token] = claims  # a signature does not change with time
        snapshot = self._snapshot(claims.link_id)
        if snapshot is None:
            raise LinkRevoked("该评议链接已停用，请扫描最新张贴的二维码。")
        if snapshot.campaign.id != claims.campaign_id:
            raise CampaignUnknown("未找到该评议活动，请确认二维码来自正式张贴的海报。")
        units = tuple(u for u in snapshot.units if u.code in claims.unit_codes)
        if not units:
            raise LinkRevoked("该链接对应的评议对象已调整，请扫描最新的二维码。")
        return CachedLink(claims, snapshot, units)

    def index(self, questionnaire_id: int, build: Callable[[Questionnaire], Any]) -> Any:
        """The questionnaire's validation index, built once per version of the store."""
        if questionnaire_id not in self._state.indexes:
            questionnaire = self._session.get(Questionnaire, questionnaire_id)
            self._state.indexes[questionnaire_id] = build(questionnaire)
        return self._state.indexes[questionnaire_id]


__all__ = ["LinkCache", "LinkError", "bump_version"]
