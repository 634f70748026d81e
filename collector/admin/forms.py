"""Forms of the cadre pages (Flask-WTF: CSRF token and validation with Chinese messages)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.i18n import get_translations
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from sync.accounts import MIN_PASSWORD_LENGTH
from sync.models import CampaignStatus, Channel
from sync.templates import TEMPLATES
from sync.unit_sheet import UNIT_CODE_RE

STATUS_LABELS = {CampaignStatus.DRAFT.value: "筹备中", CampaignStatus.OPEN.value: "进行中",
                 CampaignStatus.CLOSED.value: "已结束"}
CODE_PATTERN = Regexp(UNIT_CODE_RE, message="单位代码只能用字母、数字、下划线和短横线。")


def choices(pairs: Iterable[tuple[object, str]], optgroup: str | None = None) -> list[SelectChoice]:
    """Turn (value, label) pairs into select options."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


# Messages WTForms' zh catalogue leaves in English.
MISSING_ZH = {
    "'%(value)s' is not a valid choice for this field.": "“%(value)s”不是有效的选项。",
    "'%(value)s' are not valid choices for this field.": "“%(value)s”不是有效的选项。",
}


class _ZhTranslations:
    """WTForms' own zh catalogue, completed with MISSING_ZH."""

    def __init__(self) -> None:
        self._zh = get_translations(["zh"])

    def gettext(self, string: str) -> str:
        return MISSING_ZH.get(string) or self._zh.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return MISSING_ZH.get(singular) or self._zh.ngettext(singular, plural, n)


ZH = _ZhTranslations()


class ChineseForm(FlaskForm):
    """Base form whose built-in messages are Chinese."""

    class Meta:
        def get_translations(self, form: object) -> _ZhTranslations:
            return ZH


def required(label: str) -> DataRequired:
    return DataRequired(message=f"请填写{label}。")


class CampaignForm(ChineseForm):
    title = StringField("活动名称", [required("活动名称"), Length(max=200)])
    year = IntegerField("年度", [InputRequired("请填写年度。"),
                                 NumberRange(2000, 2100, "年度应在 2000 到 2100 之间。")])
    opens_on = DateField("开始日期", [Optional()])
    closes_on = DateField("结束日期", [Optional()])
    supervision_phone = StringField("评议监督电话", [Optional(), Length(max=50)])
    bottom_n = IntegerField("每类后几名重点跟踪", [InputRequired("请填写跟踪名次。"),
                                               NumberRange(0, 50, "应在 0 到 50 之间。")],
                            default=2)
    min_ratings = IntegerField("样本量提示（每个单位少于几份评议时标注“样本少”）",
                               [Optional(), NumberRange(0, 100000, "应在 0 到 100000 之间。")],
                               default=30)
    min_seconds = IntegerField(
        "最短作答秒数（少于此用时的评议提示“用时过短”）",
        [Optional(), NumberRange(0, 600, "应在 0 到 600 之间。")],
        default=8)
    status = SelectField("状态", choices=choices(STATUS_LABELS.items()),
                         default=CampaignStatus.OPEN.value)

    def validate_closes_on(self, field: DateField) -> None:
        if field.data and self.opens_on.data and field.data < self.opens_on.data:
            raise ValidationError("结束日期不能早于开始日期。")


class NewCampaignForm(CampaignForm):
    # A draft takes no ratings, so its questionnaire can still be edited in place.
    status = SelectField("状态", choices=choices(STATUS_LABELS.items()),
                         default=CampaignStatus.DRAFT.value)
    template = SelectField("问卷模板", choices=choices((k, t.title) for k, t in TEMPLATES.items()))


class CategoryForm(ChineseForm):
    name = StringField("类别名称", [required("类别名称"), Length(max=100)])


class UnitForm(ChineseForm):
    category_id = SelectField("类别", coerce=int)
    code = StringField("单位代码", [required("单位代码"), Length(max=20), CODE_PATTERN])
    name = StringField("单位名称", [required("单位名称"), Length(max=200)])


class ImportForm(ChineseForm):
    sheet = FileField("单位名单", [FileRequired("请选择要导入的文件。")])


class TemplateForm(ChineseForm):
    template = SelectField("问卷模板", choices=choices((k, t.title) for k, t in TEMPLATES.items()))


class VisitForm(ChineseForm):
    place = StringField("走访地点（村、社区）", [required("走访地点"), Length(max=200)])
    staff_name = StringField("走访人员", [Optional(), Length(max=100)])
    visit_date = DateField("走访日期", [Optional()])


class LinkForm(ChineseForm):
    """A link for chosen units: a poster (no visit) or a home visit."""

    unit_ids = SelectMultipleField("评议对象", coerce=int,
                                   validators=[DataRequired("请至少选择一个评议对象。")])
    channel = SelectField("评议方式", choices=choices((c.value, c.label) for c in Channel))
    visit_id = SelectField("走访（入户访谈时选择）", coerce=int, default=0)


class UserForm(ChineseForm):
    username = StringField("用户名", [required("用户名"), Length(max=80)])
    display_name = StringField("姓名", [Optional(), Length(max=100)])
    password = PasswordField("初始密码", [required("初始密码"), Length(
        min=MIN_PASSWORD_LENGTH, message=f"密码至少 {MIN_PASSWORD_LENGTH} 位。")])
    unit_ids = SelectMultipleField("负责的评议对象", coerce=int)


class UserUnitsForm(ChineseForm):
    display_name = StringField("姓名", [Optional(), Length(max=100)])
    password = PasswordField("新密码（不修改请留空）", [Optional(), Length(
        min=MIN_PASSWORD_LENGTH, message=f"密码至少 {MIN_PASSWORD_LENGTH} 位。")])
    unit_ids = SelectMultipleField("负责的评议对象", coerce=int)



class QueueImportForm(ChineseForm):
    queue_file = FileField("手机导出的未上传数据（.json）", [FileRequired("请选择要导入的文件。")])
