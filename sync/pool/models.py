"""Tables of the sample pool (样本库): raters, their groups, draws and who was drawn."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..models import Base, utcnow

if TYPE_CHECKING:
    from ..models import Link


class PoolRater(Base):
    """One person in a campaign's sample pool; one row however many groups they sit in.

    Name and phone are personal data: they are shown only on the pool pages and link lists,
    never beside a rating.
    """

    __tablename__ = "pool_raters"
    __table_args__ = (UniqueConstraint("campaign_id", "name", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    #: empty string when not given (so the unique constraint treats it as a value)
    phone: Mapped[str] = mapped_column(String(30), default="")

    groups: Mapped[list[PoolMembership]] = relationship(
        cascade="all, delete-orphan", order_by="PoolMembership.group")

    def __repr__(self) -> str:
        return f"<PoolRater {self.id}>"


class PoolMembership(Base):
    """A rater's seat in a group (党代表, 人大代表, 政协委员, 服务对象…)."""

    __tablename__ = "pool_memberships"

    rater_id: Mapped[int] = mapped_column(
        ForeignKey("pool_raters.id", ondelete="CASCADE"), primary_key=True)
    group: Mapped[str] = mapped_column(String(50), primary_key=True)


class PoolDraw(Base):
    """A stratified random draw from the pool, reproducible from its seed."""

    __tablename__ = "pool_draws"
    __table_args__ = (
        CheckConstraint("(per_group IS NULL) <> (fraction IS NULL)", name="one_size_rule"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"),
                                             index=True)
    seed: Mapped[str] = mapped_column(String(100))
    per_group: Mapped[int | None] = mapped_column(Integer)
    #: share of each group, as a decimal string (exact, e.g. "0.3")
    fraction: Mapped[str | None] = mapped_column(String(20))
    #: the channel personal links of this draw record their ratings under
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set when a later draw replaced this one (allowed only while none of its links was used)
    replaced_at: Mapped[datetime | None]

    drawn: Mapped[list[PoolDrawn]] = relationship(
        cascade="all, delete-orphan", order_by="PoolDrawn.position")


class PoolDrawn(Base):
    """A rater drawn in a draw, for one group, with their personal link."""

    __tablename__ = "pool_drawn"
    __table_args__ = (UniqueConstraint("draw_id", "rater_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("pool_draws.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("pool_raters.id", ondelete="CASCADE"))
    #: the group this rater was drawn for
    group: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("links.id"))

    rater: Mapped[PoolRater] = relationship()
    link: Mapped[Link | None] = relationship("Link")
