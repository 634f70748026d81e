"""The review flags a stored rating can carry, as people read them (exports, pages)."""

from __future__ import annotations

from ..versions import CORRECTION, STALE_VERSION, VOID
from .receipts import LATE_UPLOAD
from .repeats import REPEAT_DEVICE, REPEAT_RECEIPT

#: flag code → what a secretary reads in the 标记 column; unknown codes are shown as stored
FLAG_LABELS: dict[str, str] = {
    LATE_UPLOAD: "截止后凭回执补传",
    REPEAT_DEVICE: "同一手机重复评议",
    REPEAT_RECEIPT: "同一表单回执重复提交",
    CORRECTION: "更正",
    VOID: "作废",
    STALE_VERSION: "更正对象已被替代",
}


def flag_label(code: str) -> str:
    """The label of one flag code (the code itself when it has none)."""
    return FLAG_LABELS.get(code, code)
