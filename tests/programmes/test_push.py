"""The rating push: a durable outbox, signed deliveries, retries across a restart, dead letters."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from collector import create_app
from collector.extensions import db
from sync.audit import AuditEntry
from sync.push import outbox
from sync.push.models import DEAD, DELIVERED, PENDING, OutboxEntry
from sync.push.sender import http_send

from .helpers import personal_tokens, post, rating, write_csv

SECRET = "a-very-long-shared-secret"


class Receiver:
    """A 好差评 platform on loopback: refuses the first `fail_first` requests with 503, checks
    the signature, keeps what it accepted by idempotency key; can go down and come back."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests = 0
        self.accepted: Counter[str] = Counter()
        self.bodies: dict[str, dict] = {}
        self.bad_signatures = 0
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                with receiver.lock:
                    receiver.requests += 1
                    if not hmac.compare_digest(expected, self.headers["X-Pingyi-Signature"]):
                        receiver.bad_signatures += 1
                        status = 401
                    elif receiver.requests <= receiver.fail_first:
                        status = 503
                    else:
                        key = self.headers["Idempotency-Key"]
                        receiver.accepted[key] += 1
                        receiver.bodies[key] = json.loads(body)
                        status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ratings"


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    found = Receiver(fail_first=3)
    found.start()
    yield found
    if found.server is not None:
        found.stop()


def statuses(session) -> Counter:  # type: ignore[no-untyped-def]
    session.rollback()
    return Counter(session.scalars(select(OutboxEntry.status)))


def test_each_rating_is_delivered_once_across_failures_and_a_restart(
        app, session, client, runner, make_campaign, make_link, receiver, database_url):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    other = make_campaign(title="不推送的活动", units={"政府工作部门": [("X1", "某局")]})
    result = runner.invoke(args=["webhook", "--campaign", str(campaign.id), "--url", receiver.url,
                                 "--secret", SECRET])
    assert result.exit_code == 0, result.output
    token = make_link(campaign, ["ZF01"])[1]
    items = [rating(token, 100, comment="服务很好") for _ in range(5)]
    for item in items:
        assert post(client, [item]).json["results"][0]["status"] == "stored"
    post(client, [rating(make_link(other, ["X1"])[1], 60)])
    assert post(client, [items[0]]).json["results"][0]["status"] == "duplicate"
    # One outbox row per stored rating of the campaign with a webhook, none for resends.
    assert statuses(session) == {PENDING: 5}

    now = datetime.now(timezone.utc)
    # First round: the receiver refuses three requests; those entries wait out their backoff.
    assert outbox.deliver_due(session, http_send, now=now) == 5
    assert statuses(session) == {PENDING: 3, DELIVERED: 2}
    assert sum(receiver.accepted.values()) == 2

    # The receiver goes down; a worker tries after the backoff and fails again.
    receiver.stop()
    now += timedelta(minutes=1)
    assert outbox.deliver_due(session, http_send, now=now) == 3
    assert statuses(session) == {PENDING: 3, DELIVERED: 2}
    errors = session.scalars(select(OutboxEntry.last_error).where(
        OutboxEntry.status == PENDING)).all()
    assert all("Connection" in e or "refused" in e.lower() for e in errors), errors

    # The app restarts while the receiver is down: nothing is lost, the outbox is durable.
    db.session.remove()
    db.engine.dispose()
    restarted = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                            "SQLALCHEMY_DATABASE_URI": database_url,
                            "PUBLIC_BASE_URL": "http://testserver"})
    receiver.start()  # back up, on the same port
    with restarted.app_context():
        fresh = db.session
        # Two failures so far: the next try waits 10 s (5 s doubled).
        assert outbox.deliver_due(fresh, http_send, now=now + timedelta(seconds=9)) == 0
        now += timedelta(seconds=11)
        assert outbox.deliver_due(fresh, http_send, now=now) == 3
        assert outbox.deliver_due(fresh, http_send, now=now + timedelta(hours=2)) == 0
        assert statuses(fresh) == {DELIVERED: 5}
        fresh.remove()
        db.engine.dispose()

    assert receiver.accepted == {item["id"]: 1 for item in items}
    assert receiver.bad_signatures == 0
    body = receiver.bodies[items[0]["id"]]
    assert body["unit"] == {"code": "ZF01", "name": "市场监管局"} and body["comment"] == "服务很好"
    assert {a["level_label"] for a in body["answers"]} == {"满意"}
    assert not {"device_id", "rater_id", "meta", "client_ip"} & body.keys()


def test_personal_ratings_push_without_the_raters_name(
        app, session, client, runner, make_campaign, receiver, tmp_path):  # type: ignore[no-untyped-def]
    receiver.fail_first = 0
    campaign = make_campaign()
    runner.invoke(args=["webhook", "--campaign", str(campaign.id), "--url", receiver.url,
                        "--secret", SECRET])
    pool = write_csv(tmp_path / "pool.csv", ["姓名", "组别", "手机"], [["赵敏", "党代表", "13912345678"]])
    assert runner.invoke(args=["pool", "import", "--campaign", str(campaign.id), str(pool)]).exit_code == 0
    assert runner.invoke(args=["pool", "draw", "--campaign", str(campaign.id), "--per-group",
                               "1", "--seed", "s"]).exit_code == 0
    token = personal_tokens(app, session, campaign)[0][2]
    assert post(client, [rating(token, 60, unit="ZF02")]).json["results"][0]["status"] == "stored"
    assert outbox.deliver_due(session, http_send) == 1
    (body,) = receiver.bodies.values()
    assert "赵敏" not in json.dumps(body, ensure_ascii=False)
    assert "13912345678" not in json.dumps(body, ensure_ascii=False)


def test_eight_workers_claim_distinct_entries(app, session, client, runner, make_campaign,
                                              make_link, receiver):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    runner.invoke(args=["webhook", "--campaign", str(campaign.id), "--url", receiver.url,
                        "--secret", SECRET])
    token = make_link(campaign, ["ZF01"])[1]
    post(client, [rating(token, 100) for _ in range(6)])
    barrier = threading.Barrier(8)
    claimed: list[int | None] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                barrier.wait()
                claimed.append(outbox.claim_next(db.session))
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    got = [c for c in claimed if c is not None]
    assert len(got) == len(set(got)) == 6 and claimed.count(None) == 2
    # A crashed worker's lease runs out and the entry is claimed again.
    later = datetime.now(timezone.utc) + outbox.LEASE + timedelta(seconds=1)
    assert outbox.claim_next(session, later) is not None


def test_dead_letters_are_listed_and_resent_from_the_admin_page(
        app, session, client, runner, make_campaign, make_link, make_user, login, post_form):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    runner.invoke(args=["webhook", "--campaign", str(campaign.id), "--url",
                        "http://127.0.0.1:9/nothing-listens", "--secret", SECRET])
    token = make_link(campaign, ["ZF01"])[1]
    item = rating(token, 0, comment="态度差")
    post(client, [item])
    now = datetime.now(timezone.utc)
    for _ in range(outbox.MAX_ATTEMPTS):
        assert outbox.deliver_due(session, http_send, now=now) == 1
        now += outbox.MAX_BACKOFF
    assert statuses(session) == {DEAD: 1}

    make_user("admin")
    login("admin")
    page = client.get(f"/admin/campaigns/{campaign.id}/push").get_data(as_text=True)
    assert item["id"] in page and "重新推送" in page
    reply = post_form(f"/admin/campaigns/{campaign.id}/push",
                      f"/admin/campaigns/{campaign.id}/push/resend")
    assert reply.status_code == 302
    assert statuses(session) == {PENDING: 1}
    assert session.scalar(select(func.count()).select_from(OutboxEntry)) == 1
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    dead_id = session.scalar(select(OutboxEntry.id))
    assert (entry.action, entry.actor_name, entry.after) == ("push.resend", "admin",
                                                             {"entries": [dead_id]})
