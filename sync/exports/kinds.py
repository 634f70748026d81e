"""What each kind of export job builds: its sheets and how many rows it will write."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..clock import local_today
from ..followups.ledger import LedgerFilter, count_follow_ups, ledger_table
from ..models import Campaign, FollowUpStatus, Response
from ..reports import FilterError, campaign_tally, parse_filter
from .models import ExportJob
from .responses import responses_table
from .table import Table
from .tables import rankings_table, tallies_table


class JobError(ValueError):
    """A job that can no longer be built, with a message for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def ledger_filter(filters: dict) -> LedgerFilter:
    """The ledger's filters as a job keeps them (see `ledger_params`)."""
    status = filters.get("status") or None
    return LedgerFilter(FollowUpStatus(status) if status else None,
                        bool(filters.get("overdue")), filters.get("unit"),
                        filters.get("sort") or "opened")


def ledger_params(chosen: LedgerFilter) -> dict:
    """A LedgerFilter as JSON for the job row."""
    return {"status": chosen.status.value if chosen.status else "",
            "overdue": chosen.overdue_only, "unit": chosen.owner_unit_id, "sort": chosen.sort}


def build_tables(session: Session, job: ExportJob) -> tuple[list[Table], int]:
    """The sheets of a job and the number of rows it will write (for the progress bar).

    :raise JobError: the campaign is gone, or a filter no longer fits it.
    """
    campaign = session.get(Campaign, job.campaign_id)
    if campaign is None:
        raise JobError("评议活动已不存在。")
    visible = set(job.unit_ids) if job.unit_ids is not None else None
    f = job.filters or {}
    if job.kind == "ledger":
        today = local_today()
        chosen = ledger_filter(f)
        scope = sorted(visible) if visible is not None else None
        table = ledger_table(session, campaign, scope, chosen, job.personal, today)
        return [table], count_follow_ups(session, campaign.id, scope, chosen, today)
    try:
        tally_filter = parse_filter(f.get("channel", []), f.get("identity", []),
                                    f.get("from", ""), f.get("to", ""),
                                    [c.key for c in campaign.questionnaire.identities])
    except FilterError as exc:
        raise JobError(exc.message) from exc
    tables: list[Table] = []
    total = 0
    if job.kind in ("responses", "all"):
        # Fraud signals are for admins: a unit must not learn how its raters are screened.
        tables.append(responses_table(session, campaign, tally_filter, visible,
                                      with_signals=visible is None, guard_formulas=False))
        where = [Response.campaign_id == campaign.id, *tally_filter.conditions()]
        if visible is not None:
            where.append(Response.unit_id.in_(sorted(visible)))
        total += session.scalar(select(func.count()).select_from(Response).where(*where)) or 0
    if job.kind != "responses":
        tally = campaign_tally(session, campaign, tally_filter).restricted(visible)
        for kind, make in (("tallies", tallies_table), ("rankings", rankings_table)):
            if job.kind in (kind, "all"):
                table = make(tally)
                rows = list(table.rows)
                tables.append(Table(table.title, table.headers, rows))
                total += len(rows)
    return tables, total
