"""The form definition a phone needs to render a questionnaire and build a sync payload."""

from __future__ import annotations

from typing import Any

from .links import ResolvedLink


def form_definition(link: ResolvedLink, receipt: str | None = None) -> dict[str, Any]:
    """Describe the form behind a resolved link (DESIGN.md §3, "Form definition").

    `receipt` is the form receipt signed for this opening of the form; the phone sends it back
    with every rating it makes from this definition (see sync.integrity.receipts).
    """
    campaign = link.campaign
    questionnaire = campaign.questionnaire
    definition: dict[str, Any] = {
        "campaign": {"id": campaign.id, "title": campaign.title,
                     "closes_on": campaign.closes_on.isoformat() if campaign.closes_on else None,
                     "supervision_phone": campaign.supervision_phone},
        "channel": link.channel.value,
        "channel_label": link.channel.label,
        "visit": ({"id": link.visit.id, "place": link.visit.place,
                   "staff_name": link.visit.staff_name} if link.visit else None),
        "units": [{"code": u.code, "name": u.name} for u in link.units],
        "items": [
            {"key": item.key, "label": item.label, "required": item.required,
             "levels": [{"key": lv.key, "label": lv.label, "score": lv.score,
                         "needs_reason": lv.needs_reason} for lv in item.scale.levels]}
            for item in questionnaire.items
        ],
        "comment_label": questionnaire.comment_label,
        "identities": [{"key": c.key, "label": c.label} for c in questionnaire.identities],
        "identity_required": questionnaire.identity_required,
    }
    if receipt is not None:
        definition["receipt"] = receipt
    return definition
