"""The sample pool (样本库): import raters, draw a stratified sample, issue personal links.

A person listed in several groups (党代表 and 人大代表…) is one rater (seed 004: 交叉任职的代表
或委员只评议一次): one row, several memberships, drawn at most once, one personal link. The
draw is reproducible: the same seed and pool give the same raters.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from ..links import issue_link, revoke_link
from ..models import Campaign, Channel, Response, Unit, utcnow
from ..unit_sheet import SheetError, read_sheet
from .models import PoolDraw, PoolDrawn, PoolMembership, PoolRater

HEADERS = ("姓名", "组别")
PHONE = "手机"
PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{4,28}$")
MAX_ROWS = 20000


class PoolError(ValueError):
    """A pool action was refused; `message` says why (in Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Row:
    line: int
    name: str
    group: str
    phone: str


def _parse(rows: list[list[str]]) -> list[_Row]:
    rows = list(rows)
    while rows and not any(rows[0]):
        rows.pop(0)
    if not rows:
        raise SheetError(["文件是空的，请按“姓名、组别、手机（可选）”填写。"])
    header = [h.strip() for h in rows[0]]
    if any(h not in header for h in HEADERS):
        found = "、".join(h for h in header if h)
        raise SheetError([f"第1行表头应含“姓名、组别”（手机可选），实际为“{found}”。"])
    if len(rows) - 1 > MAX_ROWS:
        raise SheetError([f"行数过多（{len(rows) - 1} 行），一次最多导入 {MAX_ROWS} 行。"])
    name_i, group_i = header.index("姓名"), header.index("组别")
    phone_i = header.index(PHONE) if PHONE in header else None
    errors, parsed = [], []
    for line, row in enumerate(rows[1:], start=2):
        def cell(i: int | None, row: list[str] = row) -> str:
            return row[i].strip() if i is not None and i < len(row) else ""
        name, group, phone = cell(name_i), cell(group_i), cell(phone_i)
        if not (name or group or phone):
            continue
        problems = []
        if not name or len(name) > 100:
            problems.append("姓名不能为空且不超过 100 字")
        if not group or len(group) > 50:
            problems.append("组别不能为空且不超过 50 字")
        if phone and not PHONE_RE.fullmatch(phone):
            problems.append(f"手机“{phone}”格式不正确")
        if problems:
            errors.append(f"第{line}行：{'；'.join(problems)}。")
        else:
            parsed.append(_Row(line, name, group, re.sub(r"[ -]", "", phone)))
    if errors:
        raise SheetError(errors)
    if not parsed:
        raise SheetError(["表头下没有任何人员。"])
    return parsed


def _people(rows: list[_Row]) -> dict[tuple[str, str], set[str]]:
    """{(name, phone): groups}: same name and same phone (where given) is one person."""
    phones_by_name: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.phone:
            phones_by_name[row.name].add(row.phone)
    people: dict[tuple[str, str], set[str]] = defaultdict(set)
    errors = []
    for row in rows:
        phone = row.phone
        if not phone:
            known = phones_by_name[row.name]
            if len(known) > 1:
                errors.append(f"第{row.line}行：有多位“{row.name}”（手机不同），请填写手机以区分。")
                continue
            phone = next(iter(known), "")
        people[(row.name, phone)].add(row.group)
    if errors:
        raise SheetError(errors)
    return people


def import_pool(session: Session, campaign: Campaign, filename: str, data: bytes) -> int:
    """Replace the campaign's pool with the sheet's people; return how many people.

    :raise SheetError: a bad file or row (nothing is written).
    :raise PoolError: a sample was already drawn from the pool.
    """
    people = _people(_parse(read_sheet(filename, data)))
    if session.scalar(select(exists().where(PoolDraw.campaign_id == campaign.id))):
        raise PoolError("已从样本库抽样，不能再重新导入样本库。")
    for old in session.scalars(select(PoolRater).where(PoolRater.campaign_id == campaign.id)):
        session.delete(old)
    session.flush()
    for (name, phone), groups in sorted(people.items()):
        session.add(PoolRater(campaign_id=campaign.id, name=name, phone=phone,
                              groups=[PoolMembership(group=g) for g in sorted(groups)]))
    session.flush()
    return len(people)


def group_sizes(session: Session, campaign: Campaign) -> dict[str, int]:
    return dict(session.execute(
        select(PoolMembership.group, func.count()).join(PoolRater)
        .where(PoolRater.campaign_id == campaign.id)
        .group_by(PoolMembership.group).order_by(PoolMembership.group)).all())


def pool_state(session: Session, campaign: Campaign) -> dict[str, object]:
    """How many people the pool holds, in all and per group (the audit log's before/after)."""
    people = session.scalar(select(func.count()).select_from(PoolRater)
                            .where(PoolRater.campaign_id == campaign.id))
    return {"people": people or 0, "groups": group_sizes(session, campaign)}


def choose(members_by_group: dict[str, list[tuple[str, str, int]]], seed: str,
           per_group: int | None, fraction: Decimal | None) -> list[tuple[int, str]]:
    """(rater id, group) drawn: groups in name order, members in (name, phone) order.

    Each group gets `per_group` people or round(fraction × its size); someone already drawn for
    an earlier group is not drawn again. Pure and deterministic given the seed.
    """
    rng = random.Random(seed)
    drawn: set[int] = set()
    out = []
    for group in sorted(members_by_group):
        members = sorted(members_by_group[group])
        if per_group is not None:
            size = per_group
        else:
            assert fraction is not None
            size = int((fraction * len(members)).to_integral_value(ROUND_HALF_UP))
        eligible = [m for m in members if m[2] not in drawn]
        for _, _, rater_id in rng.sample(eligible, min(size, len(eligible))):
            drawn.add(rater_id)
            out.append((rater_id, group))
    return out


def current_draw(session: Session, campaign: Campaign) -> PoolDraw | None:
    return session.scalar(
        select(PoolDraw).where(PoolDraw.campaign_id == campaign.id, PoolDraw.replaced_at.is_(None))
        .options(selectinload(PoolDraw.drawn)).order_by(PoolDraw.id.desc()).limit(1))


def _draw_used(session: Session, draw: PoolDraw) -> bool:
    rater_ids = [d.rater_id for d in draw.drawn]
    # The (rater, unit) unique index answers this without scanning the responses.
    return bool(rater_ids) and bool(session.scalar(select(exists().where(
        Response.rater_id.in_(rater_ids), Response.campaign_id == draw.campaign_id))))


def parse_fraction(text: str) -> Decimal:
    """:raise PoolError: not a number in (0, 1]."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise PoolError(f"抽样比例“{text}”不是数字。") from None
    if not value.is_finite() or not 0 < value <= 1:
        raise PoolError("抽样比例必须大于 0 且不超过 1。")
    return value


def draw_sample(session: Session, campaign: Campaign, seed: str, per_group: int | None = None,
                fraction: Decimal | None = None, channel: Channel = Channel.SURVEY) -> PoolDraw:
    """Draw raters and issue each a personal link; replace the previous draw if still unused.

    :raise PoolError: empty pool, bad size, or the previous draw's links were already used.
    """
    if (per_group is None) == (fraction is None):
        raise PoolError("请指定每组人数或抽样比例（二选一）。")
    if per_group is not None and per_group < 1:
        raise PoolError("每组人数必须至少为 1。")
    if not seed.strip() or len(seed) > 100:
        raise PoolError("请填写随机种子（不超过 100 个字符），以便复核抽样结果。")
    # Two admins drawing at once: the campaign row lock makes the second wait and then see the
    # first's draw (SQLite serialises writers anyway).
    session.execute(select(Campaign.id).where(Campaign.id == campaign.id).with_for_update())
    previous = current_draw(session, campaign)
    if previous is not None:
        if _draw_used(session, previous):
            raise PoolError("上一次抽取的评议人已开始评议，不能重新抽样。")
        previous.replaced_at = utcnow()
        for drawn in previous.drawn:
            if drawn.link is not None:
                revoke_link(session, drawn.link)
    members: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for name, phone, rater_id, group in session.execute(
            select(PoolRater.name, PoolRater.phone, PoolRater.id, PoolMembership.group)
            .join(PoolMembership).where(PoolRater.campaign_id == campaign.id)):
        members[group].append((name, phone, rater_id))
    if not members:
        raise PoolError("样本库是空的，请先导入样本库。")
    chosen = choose(members, seed, per_group, fraction)
    units = list(session.scalars(select(Unit).where(Unit.campaign_id == campaign.id)
                                 .order_by(Unit.code)))
    draw = PoolDraw(campaign_id=campaign.id, seed=seed, per_group=per_group,
                    fraction=None if fraction is None else str(fraction), channel=channel.value)
    session.add(draw)
    for position, (rater_id, group) in enumerate(chosen):
        link = issue_link(session, campaign, units, channel, rater_id=rater_id)
        draw.drawn.append(PoolDrawn(rater_id=rater_id, group=group, position=position,
                                    link_id=link.id))
    session.flush()
    return draw


@dataclass(frozen=True)
class GroupResponse:
    """Response rate of one group of the current draw."""

    group: str
    pool: int
    drawn: int
    responded: int
    ratings: int

    @property
    def rate(self) -> float | None:
        return self.responded / self.drawn if self.drawn else None


def response_rates(session: Session, campaign: Campaign) -> list[GroupResponse]:
    """Per group: pool size, drawn, drawn raters who rated at least once, ratings."""
    draw = current_draw(session, campaign)
    sizes = group_sizes(session, campaign)
    if draw is None:
        return [GroupResponse(g, n, 0, 0, 0) for g, n in sizes.items()]
    rater_ids = [d.rater_id for d in draw.drawn]
    counts = dict(session.execute(
        select(Response.rater_id, func.count()).where(Response.rater_id.in_(rater_ids))
        .group_by(Response.rater_id)).all()) if rater_ids else {}
    out = []
    for group in sizes:
        members = [d.rater_id for d in draw.drawn if d.group == group]
        out.append(GroupResponse(group, sizes[group], len(members),
                                 sum(1 for r in members if counts.get(r)),
                                 sum(counts.get(r, 0) for r in members)))
    return out


@dataclass(frozen=True)
class PersonalLink:
    name: str
    group: str
    link_id: int


def personal_links(session: Session, campaign: Campaign) -> list[PersonalLink]:
    """Drawn raters of the current draw with their link, in draw order (for lists and cards)."""
    draw = current_draw(session, campaign)
    if draw is None:
        raise PoolError("尚未抽样。")
    return [PersonalLink(d.rater.name, d.group, d.link_id) for d in draw.drawn
            if d.link_id is not None]


def draw_summary(draw: PoolDraw) -> dict[str, object]:
    """What the audit log keeps of a draw (no names: ids and counts per group)."""
    groups: dict[str, int] = {}
    for drawn in draw.drawn:
        groups[drawn.group] = groups.get(drawn.group, 0) + 1
    return {"seed": draw.seed, "per_group": draw.per_group, "fraction": draw.fraction,
            "channel": draw.channel, "drawn": groups}
