"""Built-in questionnaires, taken from the campaign notices in shared/seeds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from .models import IdentityChoice, Questionnaire, QuestionnaireItem, Scale, ScaleLevel


@dataclass(frozen=True)
class LevelSpec:
    key: str
    label: str
    score: int
    counts_satisfied: bool = False
    needs_reason: bool = False


@dataclass(frozen=True)
class TemplateSpec:
    key: str
    title: str
    items: tuple[tuple[str, str], ...]
    levels: tuple[LevelSpec, ...]
    identities: tuple[tuple[str, str], ...]
    scale_name: str
    identity_required: bool = False
    comment_label: str = "意见建议"


THREE_LEVELS = (
    LevelSpec("satisfied", "满意", 100, counts_satisfied=True),
    LevelSpec("basic", "基本满意", 60, counts_satisfied=True),
    LevelSpec("unsatisfied", "不满意", 0),
)

# 政务服务"好差评": five levels; the two lowest ask the rater for a reason.
FIVE_LEVELS = (
    LevelSpec("very_satisfied", "非常满意", 100, counts_satisfied=True),
    LevelSpec("satisfied", "满意", 80, counts_satisfied=True),
    LevelSpec("basic", "基本满意", 60, counts_satisfied=True),
    LevelSpec("unsatisfied", "不满意", 30, needs_reason=True),
    LevelSpec("very_unsatisfied", "非常不满意", 0, needs_reason=True),
)

TEMPLATES: dict[str, TemplateSpec] = {
    # Seed 000: 南昌市中小企业服务局 基层群众评议问卷调查表
    "jiguan5": TemplateSpec(
        key="jiguan5",
        title="基层群众评议机关问卷调查表",
        items=(("efficiency", "工作效率"), ("attitude", "服务态度"), ("competence", "业务水平"),
               ("conduct", "工作作风"), ("integrity", "廉洁自律")),
        levels=THREE_LEVELS,
        scale_name="满意度三档",
        identities=(("enterprise", "企业服务对象"), ("rural", "乡村振兴帮扶对象")),
        comment_label="评议评价意见建议",
    ),
    # Seed 002: 万名群众评机关, five aspects and its rater groups
    "shuangwan": TemplateSpec(
        key="shuangwan",
        title="万名群众评机关评议表",
        items=(("overall", "服务大局"), ("quality", "工作质量"), ("attitude", "服务态度"),
               ("cadre_conduct", "干部作风"), ("image", "机关形象")),
        levels=THREE_LEVELS,
        scale_name="满意度三档",
        identities=(
            ("deputy", "党代表、人大代表、政协委员和民主党派人士"),
            ("staff", "机关干部职工、离退休人员"),
            ("military", "部队官兵"),
            ("business", "企业法人、职工和个体工商户"),
            ("villager", "村干部、农民和社区居民代表"),
            ("inspector", "党风廉政建设特邀监督员"),
        ),
    ),
    # 政务服务"好差评" five-level scale
    "haochaping": TemplateSpec(
        key="haochaping",
        title="政务服务好差评",
        items=(("overall", "总体评价"), ("efficiency", "办事效率"), ("attitude", "服务态度")),
        levels=FIVE_LEVELS,
        scale_name="好差评五档",
        identities=(("citizen", "办事群众"), ("enterprise", "企业办事人员")),
    ),
}


def build_questionnaire(session: Session, template_key: str) -> Questionnaire:
    """Create a fresh questionnaire (with its own scale) from a built-in template.

    :raise KeyError: unknown template key.
    """
    spec = TEMPLATES[template_key]
    scale = Scale(name=spec.scale_name, levels=[
        ScaleLevel(key=lv.key, label=lv.label, score=lv.score, position=i,
                   counts_satisfied=lv.counts_satisfied, needs_reason=lv.needs_reason)
        for i, lv in enumerate(spec.levels)
    ])
    questionnaire = Questionnaire(
        title=spec.title,
        template_key=spec.key,
        comment_label=spec.comment_label,
        identity_required=spec.identity_required,
        items=[QuestionnaireItem(key=k, label=label, position=i, required=True, scale=scale)
               for i, (k, label) in enumerate(spec.items)],
        identities=[IdentityChoice(key=k, label=label, position=i)
                    for i, (k, label) in enumerate(spec.identities)],
    )
    session.add(questionnaire)
    return questionnaire
