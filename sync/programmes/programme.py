"""A campaign's scoring programme (评议方案): methods, weights, deduction caps, grades, N.

The programme file (`collector programme`) and the admin page both go through
`parse_programme`, which checks everything before `apply_programme` writes anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Campaign, Channel, utcnow
from .models import SOURCE_IMPORT, SOURCE_RATINGS, Programme, ProgrammeMethod

DEFAULT_GRADES: list[dict[str, Any]] = [
    {"label": "满意", "min": 90}, {"label": "基本满意", "min": 60},
    {"label": "不满意", "min": None}]
DEFAULT_BOTTOM_N = 3
DEFAULT_TOP_N = 3
METHOD_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class ProgrammeError(ValueError):
    """The programme was refused; `message` says what to fix (in Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MethodSpec:
    key: str
    name: str
    weight: Decimal
    source: str
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProgrammeSpec:
    methods: tuple[MethodSpec, ...]
    deduction_caps: dict[str, Decimal | None] = field(default_factory=dict)
    grades: tuple[tuple[str, Decimal | None], ...] = ()
    bottom_n: int = DEFAULT_BOTTOM_N
    top_n: int = DEFAULT_TOP_N

    def to_json(self) -> dict[str, Any]:
        """The programme file format; parse_programme(spec.to_json()) == spec."""
        return {
            "methods": [
                {"key": m.key, "name": m.name, "weight": _num(m.weight),
                 **({"channels": list(m.channels)} if m.source == SOURCE_RATINGS
                    else {"source": SOURCE_IMPORT})} for m in self.methods],
            "deduction_caps": {k: _num(v) for k, v in self.deduction_caps.items()},
            "grades": [{"label": label, "min": _num(low)} for label, low in self.grades],
            "bottom_n": self.bottom_n,
            "top_n": self.top_n,
        }


def _num(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal(value: object, what: str, allow_none: bool = False) -> Decimal | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ProgrammeError(f"{what}必须是数字。")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ProgrammeError(f"{what}“{value}”不是有效的数字。") from None
    if not number.is_finite() or number < 0 or number > 10000:
        raise ProgrammeError(f"{what}必须在 0 到 10000 之间。")
    return number


def _count(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        raise ProgrammeError(f"{key} 必须是 0 到 1000 之间的整数。")
    return value


def _method(index: int, raw: object) -> MethodSpec:
    where = f"第{index}个测评方式"
    if not isinstance(raw, dict):
        raise ProgrammeError(f"{where}必须是对象。")
    unknown = set(raw) - {"key", "name", "weight", "channels", "source"}
    if unknown:
        raise ProgrammeError(f"{where}含有未知字段：{'、'.join(sorted(unknown))}。")
    key, name = raw.get("key"), raw.get("name")
    if not isinstance(key, str) or not METHOD_KEY_RE.fullmatch(key):
        raise ProgrammeError(f"{where}的 key 必须是 1–40 个字母、数字、下划线或短横线。")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ProgrammeError(f"{where}（{key}）的名称不能为空且不超过 100 字。")
    weight = _decimal(raw.get("weight"), f"{where}（{key}）的权重")
    assert weight is not None
    has_channels, source = "channels" in raw, raw.get("source")
    if has_channels == (source is not None):
        raise ProgrammeError(
            f"{where}（{key}）须二选一：channels（评议渠道）或 source: import（导入得分）。")
    if source is not None:
        if source != SOURCE_IMPORT:
            raise ProgrammeError(f"{where}（{key}）的 source 只能是 import。")
        return MethodSpec(key, name.strip(), weight, SOURCE_IMPORT)
    channels = raw["channels"]
    known = {c.value for c in Channel}
    if (not isinstance(channels, list) or not channels
            or not all(isinstance(c, str) for c in channels)):
        raise ProgrammeError(f"{where}（{key}）的 channels 必须是非空的渠道列表。")
    bad = [c for c in channels if c not in known]
    if bad:
        raise ProgrammeError(
            f"{where}（{key}）含有未知渠道“{bad[0]}”，可用：{'、'.join(sorted(known))}。")
    return MethodSpec(key, name.strip(), weight, SOURCE_RATINGS, tuple(dict.fromkeys(channels)))


def _has_nul(value: object, depth: int = 0) -> bool:
    if depth > 10:
        raise ProgrammeError("评议方案嵌套层次过深。")
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def parse_programme(data: object) -> ProgrammeSpec:
    """Check a programme document whole.

    :raise ProgrammeError: naming the first problem; nothing is applied.
    """
    if not isinstance(data, dict):
        raise ProgrammeError("评议方案必须是 JSON 对象。")
    if _has_nul(data):  # PostgreSQL text cannot hold NUL; no real programme has one
        raise ProgrammeError("评议方案含有空字符（\\u0000），请删除后再保存。")
    unknown = set(data) - {"methods", "deduction_caps", "grades", "bottom_n", "top_n"}
    if unknown:
        raise ProgrammeError(f"评议方案含有未知字段：{'、'.join(sorted(unknown))}。")
    raw_methods = data.get("methods")
    if not isinstance(raw_methods, list) or not raw_methods:
        raise ProgrammeError("methods 必须是至少含一个测评方式的列表。")
    methods = tuple(_method(i, m) for i, m in enumerate(raw_methods, start=1))
    keys = [m.key for m in methods]
    duplicate = next((k for k in keys if keys.count(k) > 1), None)
    if duplicate:
        raise ProgrammeError(f"测评方式 key“{duplicate}”重复。")
    if sum(m.weight for m in methods) <= 0:
        raise ProgrammeError("测评方式的权重之和必须大于 0。")

    raw_caps = data.get("deduction_caps", {})
    if not isinstance(raw_caps, dict):
        raise ProgrammeError("deduction_caps 必须是 {来源: 上限或 null} 的对象。")
    caps: dict[str, Decimal | None] = {}
    for source, cap in raw_caps.items():
        if not source.strip() or len(source) > 50:
            raise ProgrammeError("减分来源名称不能为空且不超过 50 字。")
        caps[source.strip()] = _decimal(cap, f"减分来源“{source}”的上限", allow_none=True)

    raw_grades = data.get("grades", DEFAULT_GRADES)
    if not isinstance(raw_grades, list):
        raise ProgrammeError("grades 必须是 [{label, min}] 列表。")
    grades = []
    for i, grade in enumerate(raw_grades, start=1):
        if not isinstance(grade, dict) or set(grade) - {"label", "min"}:
            raise ProgrammeError(f"第{i}个等次必须是 {{label, min}} 对象。")
        label = grade.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 20:
            raise ProgrammeError(f"第{i}个等次的名称不能为空且不超过 20 字。")
        grades.append((label.strip(), _decimal(grade.get("min"), f"等次“{label}”的分数线",
                                              allow_none=True)))
    mins = [low for _, low in grades]
    if None in mins[:-1]:
        raise ProgrammeError("只有最后一个等次可以不设分数线（min 为 null）。")
    numeric = [low for low in mins if low is not None]
    if numeric != sorted(numeric, reverse=True) or len(set(numeric)) != len(numeric):
        raise ProgrammeError("等次须按分数线从高到低排列，且分数线互不相同。")
    return ProgrammeSpec(methods, caps, tuple(grades), _count(data, "bottom_n", DEFAULT_BOTTOM_N),
                         _count(data, "top_n", DEFAULT_TOP_N))


def get_programme(session: Session, campaign: Campaign) -> Programme | None:
    return session.get(Programme, campaign.id)


def programme_spec(session: Session, campaign: Campaign) -> ProgrammeSpec | None:
    """The stored programme as a spec (None when the campaign has none)."""
    programme = get_programme(session, campaign)
    if programme is None:
        return None
    return parse_programme({
        "methods": [{"key": m.key, "name": m.name, "weight": str(m.weight),
                     **({"channels": m.channels} if m.source == SOURCE_RATINGS
                        else {"source": SOURCE_IMPORT})} for m in programme.methods],
        "deduction_caps": {k: (None if v is None else str(v))
                           for k, v in programme.deduction_caps.items()},
        "grades": programme.grades, "bottom_n": programme.bottom_n, "top_n": programme.top_n,
    })


def apply_programme(session: Session, campaign: Campaign, spec: ProgrammeSpec) -> Programme:
    """Replace the campaign's programme with `spec` (flushes; the caller commits)."""
    programme = get_programme(session, campaign)
    if programme is None:
        programme = Programme(campaign_id=campaign.id)
        session.add(programme)
    programme.bottom_n, programme.top_n = spec.bottom_n, spec.top_n
    programme.grades = [{"label": label, "min": _num(low)} for label, low in spec.grades]
    programme.deduction_caps = {k: (None if v is None else str(v))
                                for k, v in spec.deduction_caps.items()}
    programme.updated_at = utcnow()
    existing = {m.key: m for m in session.scalars(
        select(ProgrammeMethod).where(ProgrammeMethod.campaign_id == campaign.id))}
    for key in existing.keys() - {m.key for m in spec.methods}:
        session.delete(existing[key])  # its imported scores stay, unused until it returns
    session.flush()
    for position, method in enumerate(spec.methods):
        row = existing.get(method.key) or ProgrammeMethod(campaign_id=campaign.id, key=method.key)
        row.name, row.weight, row.source = method.name, method.weight, method.source
        row.channels, row.position = list(method.channels), position
        session.add(row)
    session.flush()
    session.expire(programme, ["methods"])
    return programme
