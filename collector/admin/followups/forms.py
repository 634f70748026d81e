"""Forms of the follow-up pages."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from sync.followups.models import AppealKind
from sync.models import CallbackResult, FollowUpStatus

from ..forms import ChineseForm, choices, required


class FollowUpForm(ChineseForm):
    status = SelectField("办理状态", choices=choices((s.value, s.label) for s in FollowUpStatus))
    reply = TextAreaField("办理情况（答复）", [Optional(), Length(max=5000)])
    measures = TextAreaField("整改措施", [Optional(), Length(max=5000)])
    callback_result = SelectField(
        "回访结果",
        choices=choices([("", "未回访"), *((c.value, c.label) for c in CallbackResult)]),
        default="", validate_choice=False)
    owner_unit_id = SelectField("责任单位", coerce=int)


    def validate_callback_result(self, field: SelectField) -> None:
        if field.data not in (None, "", *(c.value for c in CallbackResult)):
            raise ValidationError("回访结果不是有效的选择。")


class ExtensionForm(ChineseForm):
    due_on = DateField("延期至", [InputRequired("请填写延期后的时限。")])
    reason = TextAreaField("延期理由", [required("延期理由"), Length(max=2000)])


class AppealForm(ChineseForm):
    kind = SelectField("申诉类型", choices=choices((k.value, k.label) for k in AppealKind))
    reason = TextAreaField("申诉理由", [required("申诉理由"), Length(max=2000)])
    evidence = TextAreaField("证据说明（如通话记录、监控时间、文书编号）",
                             [Optional(), Length(max=2000)])


class DecisionForm(ChineseForm):
    decision = SelectField("复核结论", choices=choices([("upheld", "申诉成立（剔除该评价）"),
                                                    ("rejected", "驳回申诉")]))
    reason = TextAreaField("复核理由", [required("复核理由"), Length(max=2000)])


class SettingsForm(ChineseForm):
    followup_days = IntegerField("办理时限（工作日）", [
        InputRequired("请填写办理时限。"), NumberRange(1, 22, "应在 1 到 22 个工作日之间。")])
    followup_levels = SelectMultipleField("选择后即使未留言也自动立项的评价档次")
    board_enabled = BooleanField("公开评议结果公示页")
