"""Import a phone's exported upload queue (the last resort for a phone that never sees signal).

The file is what the form page's "导出未上传数据" button writes:
``{"format": "pingyi-queue", "version": 1, "device_id": "...", "exported_at": "...",
"responses": [<sync items as in POST /api/v1/sync>]}``. Items go through `merge_batch`, so a
file imported twice, or items the phone also uploaded, come back as `duplicate`, never doubled.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from qr.links import LinkSigner

from .merge import BatchError, ItemResult, merge_batch
from .schemas import MAX_BATCH

QUEUE_FORMAT = "pingyi-queue"
QUEUE_VERSION = 1


class QueueFileError(Exception):
    """The file is not an exported queue; `message` says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ImportSummary:
    """What happened to each item of an imported queue file."""

    results: list[ItemResult] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.results))

    @property
    def problems(self) -> list[ItemResult]:
        """Items not stored and not already present: rejected or conflicting."""
        return [r for r in self.results if r.status in ("rejected", "conflict")]


def load_queue_file(data: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """Parse and check an exported queue file.

    :raise QueueFileError: not JSON, or not a queue file of a version we read.
    """
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise QueueFileError("文件不是有效的 JSON，请上传手机导出的 .json 文件。") from exc
    if not isinstance(data, dict) or data.get("format") != QUEUE_FORMAT:
        raise QueueFileError("这不是评议表单导出的待上传数据文件。")
    if data.get("version") != QUEUE_VERSION:
        raise QueueFileError(f"不支持的文件版本：{data.get('version')!r}。")
    if not isinstance(data.get("responses"), list):
        raise QueueFileError("文件缺少 responses 列表。")
    return data


def import_queue_file(
    session: Session, signer: LinkSigner, data: bytes | str | dict[str, Any],
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Merge every response of an exported queue file into the store, in batches.

    `progress(n)` is told after each batch of n responses.

    :raise QueueFileError: the file is not an exported queue.
    """
    queue = load_queue_file(data)
    device_id = queue.get("device_id")
    if not isinstance(device_id, str) or not 0 < len(device_id) <= 64:
        device_id = None
    items = queue["responses"]
    summary = ImportSummary()
    for start in range(0, len(items), MAX_BATCH):
        body = {"device_id": device_id, "responses": items[start:start + MAX_BATCH]}
        try:
            summary.results.extend(merge_batch(session, signer, body))
        except BatchError as exc:  # only the envelope can fail here, and we built it
            raise QueueFileError(exc.message) from exc
        if progress:
            progress(len(body["responses"]))
    return summary
