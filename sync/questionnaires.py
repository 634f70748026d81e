"""Edit a campaign's questionnaire without ever changing stored answers.

Answers point at item and level rows and copy the score. Only a draft campaign's questionnaire
(drafts accept no ratings) that nobody has answered is edited in place. Otherwise the edits go into
a copy, a new version, and the campaign points at it: old answers keep their old rows, new phones
submit against the copy (sync.merge validates against `campaign.questionnaire`). Versioning every
edit of an open campaign, even before its first rating, leaves no moment where a rating arriving
during the edit could land on a row being changed. Item keys carry over, so forms cached on phones
before the edit still submit valid keys for the items that remain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from .campaigns import SetupError
from .models import (
    Answer,
    Campaign,
    CampaignStatus,
    IdentityChoice,
    Questionnaire,
    QuestionnaireItem,
    Scale,
    ScaleLevel,
)
from .templates import TEMPLATES, build_questionnaire

MAX_LABEL = 100
MAX_ITEMS = 50
MAX_CHOICES = 10
#: a new level counts towards 满意率 from this score up (满意 100, 基本满意 60)
SATISFIED_FROM = 60


@dataclass(frozen=True)
class ItemEdit:
    """One item as it should be after the edit; `key` None means a new item."""

    label: str
    required: bool = True
    key: str | None = None
    #: None keeps the item's weight (1 for a new item)
    weight: int | None = None


@dataclass(frozen=True)
class ChoiceEdit:
    """A rater identity or a level as it should be; `key` None means a new one."""

    label: str
    key: str | None = None
    score: int = 0  # levels only


@dataclass(frozen=True)
class QuestionnaireEdit:
    """The whole questionnaire as it should be; items, identities, levels left out are removed.

    `identities` / `levels` None leave them as they are.
    """

    title: str
    comment_label: str
    identity_required: bool
    items: list[ItemEdit] = field(default_factory=list)
    identities: list[ChoiceEdit] | None = None
    levels: list[ChoiceEdit] | None = None


def questionnaire_in_use(session: Session, questionnaire: Questionnaire) -> bool:
    """Whether answers point at this questionnaire (or it was frozen): then it is never edited."""
    if questionnaire.frozen_at is not None:
        return True
    answered = select(exists().where(
        Answer.item_id == QuestionnaireItem.id,
        QuestionnaireItem.questionnaire_id == questionnaire.id))
    return bool(session.scalar(answered))


def editable_in_place(session: Session, campaign: Campaign) -> bool:
    """Whether the campaign's questionnaire may change in place: a draft nobody has answered."""
    return (campaign.status == CampaignStatus.DRAFT
            and not questionnaire_in_use(session, campaign.questionnaire))


def _check(edit: QuestionnaireEdit, known_keys: set[str]) -> None:
    """:raise SetupError: empty or duplicate labels, unknown keys, or no items left."""
    if not edit.title.strip():
        raise SetupError("请填写问卷标题。")
    if not edit.items:
        raise SetupError("问卷至少要有一项评议内容。")
    if len(edit.items) > MAX_ITEMS:
        raise SetupError(f"问卷最多 {MAX_ITEMS} 项评议内容。")
    labels: set[str] = set()
    for item in edit.items:
        label = item.label.strip()
        if not label:
            raise SetupError("评议内容的名称不能为空。")
        if len(label) > MAX_LABEL:
            raise SetupError(f"评议内容“{label[:20]}…”超过 {MAX_LABEL} 个字。")
        if label in labels:
            raise SetupError(f"评议内容“{label}”重复。")
        labels.add(label)
        if item.key is not None and item.key not in known_keys:
            raise SetupError("问卷已被他人修改，请刷新页面后重试。")
        if item.weight is not None and not 0 <= item.weight <= 100:
            raise SetupError(f"“{label}”的权重应在 0 到 100 之间。")
    if all(item.weight == 0 for item in edit.items):
        raise SetupError("至少一项评议内容的权重要大于 0。")
    for name, choices in (("评议人员身份", edit.identities), ("评价档次", edit.levels)):
        if choices is None:
            continue
        if name == "评价档次" and len(choices) < 2:
            raise SetupError("评价档次至少要有两档。")
        if len(choices) > MAX_CHOICES:
            raise SetupError(f"{name}最多 {MAX_CHOICES} 个。")
        seen: set[str] = set()
        for choice in choices:
            text = choice.label.strip()
            if not text or len(text) > 40:
                raise SetupError(f"{name}的名称不能为空，且不超过 40 个字。")
            if text in seen:
                raise SetupError(f"{name}“{text}”重复。")
            seen.add(text)
            if not 0 <= choice.score <= 100:
                raise SetupError(f"档次“{text}”的得分应在 0 到 100 之间。")


def _unchanged(questionnaire: Questionnaire, edit: QuestionnaireEdit) -> bool:
    current = [(i.key, i.label, i.required, i.weight) for i in questionnaire.items]
    weights = {i.key: i.weight for i in questionnaire.items}
    wanted = [(i.key, i.label.strip(), i.required,
               i.weight if i.weight is not None else weights.get(i.key, 1)) for i in edit.items]
    return (current == wanted and questionnaire.title == edit.title.strip()
            and (edit.identities is None
                 or _identity_rows(questionnaire) == [(c.key, c.label.strip())
                                                      for c in edit.identities])
            and (edit.levels is None or _levels_unchanged(questionnaire, edit.levels))
            and questionnaire.comment_label == edit.comment_label.strip()
            and questionnaire.identity_required == edit.identity_required)


def _new_key(taken: set[str], prefix: str = "item") -> str:
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    taken.add(f"{prefix}{n}")
    return f"{prefix}{n}"


def _weight(edit: ItemEdit, by_key: dict[str, QuestionnaireItem]) -> int:
    if edit.weight is not None:
        return edit.weight
    return by_key[edit.key].weight if edit.key else 1


def _identity_rows(questionnaire: Questionnaire) -> list[tuple[str | None, str]]:
    return [(c.key, c.label) for c in questionnaire.identities]


def _levels_unchanged(questionnaire: Questionnaire, levels: list[ChoiceEdit]) -> bool:
    current = [(lv.key, lv.label, lv.score) for lv in _default_scale(questionnaire).levels]
    return current == [(c.key, c.label.strip(), c.score) for c in levels]


def _apply_identities(questionnaire: Questionnaire, edits: list[ChoiceEdit]) -> None:
    """Update identity rows in place by key (phones' cached forms stay valid), add, remove."""
    by_key = {c.key: c for c in questionnaire.identities}
    taken = set(by_key)
    rows = []
    for pos, e in enumerate(edits):
        row = by_key.get(e.key or "") or IdentityChoice(key=_new_key(taken, "identity"))
        row.label, row.position = e.label.strip(), pos
        rows.append(row)
    questionnaire.identities = rows


def _scale(session: Session, old: Scale, edits: list[ChoiceEdit]) -> Scale:
    """A new scale with the edited levels; a kept level keeps its key and 满意率 and reason
    rules, a new one counts towards 满意率 from SATISFIED_FROM points. Old answers keep the
    old scale's rows."""
    by_key = {lv.key: lv for lv in old.levels}
    taken = set(by_key)
    levels = []
    for pos, e in enumerate(edits):
        kept = by_key.get(e.key or "")
        levels.append(ScaleLevel(
            key=kept.key if kept else _new_key(taken, "level"), label=e.label.strip(),
            score=e.score, position=pos,
            counts_satisfied=kept.counts_satisfied if kept else e.score >= SATISFIED_FROM,
            needs_reason=kept.needs_reason if kept else False))
    scale = Scale(name=old.name, levels=levels)
    session.add(scale)
    return scale


def _default_scale(questionnaire: Questionnaire) -> Scale:
    return questionnaire.items[0].scale


def edit_questionnaire(session: Session, campaign: Campaign,
                       edit: QuestionnaireEdit) -> Questionnaire:
    """Apply `edit` to the campaign's questionnaire, versioning it when it has answers.

    :raise SetupError: the edit is invalid (nothing is changed).
    """
    current = campaign.questionnaire
    by_key = {i.key: i for i in current.items}
    _check(edit, set(by_key))
    if _unchanged(current, edit):
        return current
    scale = _default_scale(current)
    new_scale = None
    if edit.levels is not None and not _levels_unchanged(current, edit.levels):
        new_scale = scale = _scale(session, scale, edit.levels)
    taken = set(by_key)

    if not editable_in_place(session, campaign):
        target = _copy_header(current)
        items = [QuestionnaireItem(key=e.key or _new_key(taken), label=e.label.strip(),
                                   required=e.required, position=pos,
                                   weight=_weight(e, by_key),
                                   scale=by_key[e.key].scale if e.key and not new_scale
                                   else scale)
                 for pos, e in enumerate(edit.items)]
        target.items = items
        session.add(target)
        campaign.questionnaire = target
    else:
        target = current
        items = []
        for pos, e in enumerate(edit.items):
            item = by_key[e.key] if e.key else QuestionnaireItem(key=_new_key(taken), scale=scale)
            item.label, item.required, item.position = e.label.strip(), e.required, pos
            item.weight = _weight(e, by_key)
            if new_scale is not None:
                item.scale = new_scale
            items.append(item)
        target.items = items  # items left out are deleted (delete-orphan)
    if edit.identities is not None:
        _apply_identities(target, edit.identities)
    target.title = edit.title.strip()
    target.comment_label = edit.comment_label.strip() or "意见建议"
    target.identity_required = edit.identity_required
    session.flush()
    return target


def _copy_header(old: Questionnaire) -> Questionnaire:
    """Freeze `old` and return its next version: same header and identity choices, no items."""
    old.frozen_at = old.frozen_at or datetime.now(timezone.utc)
    return Questionnaire(
        title=old.title, template_key=old.template_key, comment_label=old.comment_label,
        identity_required=old.identity_required, version=old.version + 1, previous_id=old.id,
        identities=[IdentityChoice(key=c.key, label=c.label, position=c.position)
                    for c in old.identities])


def use_template(session: Session, campaign: Campaign, template_key: str) -> Questionnaire:
    """Give the campaign a fresh questionnaire from a built-in template.

    A draft's unanswered questionnaire is dropped; otherwise the old one stays (frozen) as the
    previous version.

    :raise SetupError: unknown template.
    """
    if template_key not in TEMPLATES:
        raise SetupError("未知的问卷模板。")
    old = campaign.questionnaire
    in_place = editable_in_place(session, campaign)
    new = build_questionnaire(session, template_key)
    campaign.questionnaire = new
    if in_place:
        session.flush()
        session.delete(old)
    else:
        old.frozen_at = old.frozen_at or datetime.now(timezone.utc)
        new.version, new.previous_id = old.version + 1, old.id
    session.flush()
    return new


def questionnaire_versions(session: Session, campaign: Campaign) -> list[Questionnaire]:
    """The campaign's questionnaire and every earlier version it was copied from, newest first."""
    versions = [campaign.questionnaire]
    while versions[-1].previous_id is not None:
        previous = session.get(Questionnaire, versions[-1].previous_id)
        if previous is None:
            break
        versions.append(previous)
    return versions


def item_keys(session: Session, campaign: Campaign) -> dict[int, str]:
    """Map every item id of every version to its key: answers to an earlier version still find
    their column (keys carry over between versions; a removed item keeps its own key)."""
    ids = [q.id for q in questionnaire_versions(session, campaign)]
    return dict(session.execute(select(QuestionnaireItem.id, QuestionnaireItem.key)
                                .where(QuestionnaireItem.questionnaire_id.in_(ids))).all())
