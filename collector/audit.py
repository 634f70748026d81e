"""Audit an admin or secretary change from inside a request (see sync.audit)."""

from __future__ import annotations

from typing import Any

from flask import request

from sync.audit import AuditEntry, record

from .auth import current_user
from .extensions import db


def who() -> dict[str, Any]:
    """The signed-in actor and client address, for sync helpers that audit their own changes."""
    return {"actor": current_user(), "ip": request.remote_addr}


def audit(action: str, target_type: str, target_id: object = None, *,
          campaign_id: int | None = None, before: dict[str, Any] | None = None,
          after: dict[str, Any] | None = None) -> AuditEntry:
    """Record the signed-in user's change in the current session; the route commits it."""
    return record(db.session, actor=current_user(), action=action, target_type=target_type,
                  target_id=target_id, campaign_id=campaign_id, before=before, after=after,
                  ip=request.remote_addr)
