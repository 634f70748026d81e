"""Benchmark: the 整改台账 does not slow down as ratings without follow-ups pile up.

Two SQLite stores hold the same F follow-ups (and their F rated responses). The second store also
holds K×F more ratings that opened nothing — the usual case: most ratings are content and say
nothing. Each round times what the ledger page and the board read: page 1 of the ledger (newest
first), page 1 sorted by deadline with "overdue only", per-unit counts, and the board's progress
figures. Printed: the median time per store and their ratio. Run on demand:

    .venv/bin/python bench/ledger_bench.py [--followups 20000] [--extra 20] [--rounds 7]

Goal: ratio ≤ 1.3 — the ledger reads follow_ups by campaign through its indexes, never responses.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sync.campaigns import add_units, create_campaign  # noqa: E402
from sync.db import configure_engine  # noqa: E402
from sync.followups.board import follow_up_progress  # noqa: E402
from sync.followups.ledger import LedgerFilter, list_follow_ups, unit_counts  # noqa: E402
from sync.links import issue_link  # noqa: E402
from sync.models import Base, Channel, FollowUp, FollowUpStatus, Response  # noqa: E402

TODAY = date(2026, 11, 25)


def build(path: Path, followups: int, extra: int) -> tuple[Session, int]:
    engine = create_engine(f"sqlite:///{path}")
    configure_engine(engine)
    Base.metadata.create_all(engine)
    session = Session(engine)
    campaign = create_campaign(session, "基准", 2026, "jiguan5")
    add_units(session, campaign, {"政府工作部门": [(f"U{i:02d}", f"单位{i}") for i in range(40)]})
    session.flush()
    link = issue_link(session, campaign, list(campaign.units), Channel.ONLINE)
    session.commit()
    unit_ids = [u.id for u in campaign.units]
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    total = followups * (1 + extra)
    batch = 20_000
    for start in range(0, total, batch):
        rows = [{"uuid": str(uuid.uuid4()), "campaign_id": campaign.id,
                 "unit_id": unit_ids[n % len(unit_ids)], "link_id": link.id,
                 "channel": Channel.ONLINE, "created_at": now + timedelta(seconds=n),
                 "received_at": now + timedelta(seconds=n), "content_hash": "x" * 64,
                 "comment": "意见" if n % (1 + extra) == 0 else None, "flags": [], "meta": {}}
                for n in range(start, min(start + batch, total))]
        session.execute(insert(Response), rows)
    session.commit()
    ids = session.execute(Response.__table__.select().with_only_columns(
        Response.id, Response.unit_id).where(Response.comment.is_not(None))).all()
    statuses = list(FollowUpStatus)
    for start in range(0, len(ids), batch):
        session.execute(insert(FollowUp), [
            {"response_id": rid, "campaign_id": campaign.id, "owner_unit_id": unit_id,
             "status": statuses[rid % 2], "opened_on": TODAY - timedelta(days=rid % 30),
             "due_on": TODAY + timedelta(days=(rid % 20) - 10)}
            for rid, unit_id in ids[start:start + batch]])
    session.commit()
    return session, campaign.id


def one_round(session: Session, campaign_id: int) -> float:
    began = time.perf_counter()
    list_follow_ups(session, campaign_id, today=TODAY)
    list_follow_ups(session, campaign_id, today=TODAY,
                    ledger_filter=LedgerFilter(overdue_only=True, sort="due"))
    unit_counts(session, campaign_id, today=TODAY)
    follow_up_progress(session, campaign_id, TODAY)
    session.rollback()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--followups", type=int, default=20_000)
    parser.add_argument("--extra", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lean, lean_id = build(Path(tmp, "lean.db"), args.followups, 0)
        full, full_id = build(Path(tmp, "full.db"), args.followups, args.extra)
        times: dict[str, list[float]] = {"lean": [], "full": []}
        for _ in range(args.rounds):  # alternate, so machine noise hits both alike
            times["lean"].append(one_round(lean, lean_id))
            times["full"].append(one_round(full, full_id))
        lean_ms = statistics.median(times["lean"]) * 1000
        full_ms = statistics.median(times["full"]) * 1000
        print(f"follow-ups: {args.followups}; responses: {args.followups} vs "
              f"{args.followups * (1 + args.extra)}")
        print(f"ledger reads, median of {args.rounds}: {lean_ms:.1f} ms vs {full_ms:.1f} ms; "
              f"ratio {full_ms / lean_ms:.2f} (goal ≤ 1.3)")


if __name__ == "__main__":
    main()
