"""Merge 100,000 responses (5 answers each) in batches of 500 and compare with a raw insert.

Prints responses/s for sync.merge.merge_batch and for a raw SQLAlchemy Core insert of the same
rows into a fresh store, both measured in this run, and their ratio (goal ≥ 0.7).

    .venv/bin/python bench/sync_bench.py                      # fresh SQLite files
    .venv/bin/python bench/sync_bench.py --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

from qr.links import LinkSigner
from sync.campaigns import add_units, create_campaign, create_visit
from sync.db import configure_engine, normalise_url
from sync.links import issue_link, sign_link
from sync.merge import merge_batch
from sync.models import Answer, Base, Campaign, Channel, Response

ITEMS = ["efficiency", "attitude", "competence", "conduct", "integrity"]
LEVELS = ["satisfied", "basic", "unsatisfied"]


def fresh_store(url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(normalise_url(url))
    configure_engine(engine)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        campaign = create_campaign(session, "基准测试", 2026, "jiguan5")
        units = add_units(session, campaign, {"政府工作部门": [("ZF01", "市场监管局")]})
        # A field worker's visit link: batches of hundreds come from offline queues.
        visit = create_visit(session, campaign, "红星村", "李明")
        link = issue_link(session, campaign, units, Channel.VISIT, visit)
        session.commit()
        token = sign_link(SIGNER, link)
    return engine, token


SIGNER = LinkSigner(["bench-secret"])


def make_items(n: int, token: str) -> list[dict]:
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    return [{
        "id": str(uuid.uuid4()), "token": token, "unit": "ZF01",
        "created_at": (start + timedelta(seconds=i)).isoformat(),
        "answers": {key: LEVELS[(i + j) % 3] for j, key in enumerate(ITEMS)},
        "comment": "", "identity": "enterprise",
    } for i in range(n)]


def run_merge(engine, items: list[dict], batch: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with Session(engine) as session:
        for i in range(0, len(items), batch):
            # one phone per batch, as a field worker's queue uploads
            results = merge_batch(session, SIGNER, {"device_id": f"phone-{i // batch}",
                                                    "responses": items[i:i + batch]})
            assert all(r.status == "stored" for r in results), results[0]
    return time.perf_counter() - started


def run_raw(engine, items: list[dict], batch: int) -> float:  # type: ignore[no-untyped-def]
    """The same rows written with plain Core executemany inserts, no validation or dedupe."""
    with Session(engine) as session:
        campaign = session.query(Campaign).one()
        unit_id = campaign.units[0].id
        link_id, visit_id = session.execute(text("SELECT id, visit_id FROM links")).one()
        item_ids = {i.key: i.id for i in campaign.questionnaire.items}
        scale = campaign.questionnaire.items[0].scale
        level_ids = {lv.key: (lv.id, lv.score) for lv in scale.levels}
        campaign_id = campaign.id
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    next_id = 1
    with engine.connect() as conn:
        for i in range(0, len(items), batch):
            chunk = items[i:i + batch]
            responses, answers = [], []
            for item in chunk:
                responses.append({
                    "id": next_id, "uuid": item["id"], "campaign_id": campaign_id,
                    "unit_id": unit_id, "link_id": link_id, "channel": "visit",
                    "visit_id": visit_id,
                    "device_id": f"phone-{i // batch}", "identity_key": item["identity"],
                    "comment": None,
                    "created_at": datetime.fromisoformat(item["created_at"]),
                    "received_at": now, "content_hash": "x" * 64, "flags": [], "meta": {},
                })
                for key, level in item["answers"].items():
                    level_id, score = level_ids[level]
                    answers.append({"response_id": next_id, "item_id": item_ids[key],
                                    "level_id": level_id, "score": score})
                next_id += 1
            conn.execute(insert(Response), responses)
            conn.execute(insert(Answer), answers)
            conn.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        def url(name: str) -> str:
            return args.database_url or f"sqlite:///{Path(tmp) / name}"

        engine, token = fresh_store(url("raw.db"))
        items = make_items(args.responses, token)
        raw = run_raw(engine, items, args.batch)
        engine.dispose()

        engine, token = fresh_store(url("merge.db"))
        for item in items:
            item["token"] = token
        merged = run_merge(engine, items, args.batch)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM responses")).scalar()
            answers = conn.execute(text("SELECT count(*) FROM answers")).scalar()
        engine.dispose()

    assert stored == args.responses and answers == 5 * args.responses
    store = args.database_url and normalise_url(args.database_url).split("://")[0] or "sqlite"
    print(f"store: {store}; {args.responses} responses x 5 answers, batches of {args.batch}")
    print(f"raw Core insert : {args.responses / raw:10.0f} responses/s ({raw:.2f} s)")
    print(f"merge_batch     : {args.responses / merged:10.0f} responses/s ({merged:.2f} s)")
    print(f"ratio merge/raw : {raw / merged:.2f}  (goal >= 0.70)")


if __name__ == "__main__":
    main()
