"""Each fraud signal is raised by ratings built for it, with its reason, and not otherwise."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from sync.integrity import signals as sig
from sync.integrity.signals import campaign_signals
from sync.models import Channel, Response

from .conftest import ITEM_KEYS, LEVELS, unit_by_code

UNITS = {"政府工作部门": [(f"ZF{n:02d}", f"单位{n}") for n in range(1, 8)]}


@pytest.fixture
def campaign(make_campaign):  # type: ignore[no-untyped-def]
    return make_campaign(title="信号测试", units=UNITS)


@pytest.fixture
def send(client, make_link):  # type: ignore[no-untyped-def]
    """Post one rating through /api/v1/sync with a chosen device and client address."""
    links: dict[tuple[str, Channel], tuple] = {}  # (code, channel) -> (link, token)

    def link_for(campaign, code, channel=Channel.ONLINE):  # type: ignore[no-untyped-def]
        if (code, channel) not in links:
            place = "青山村" if channel == Channel.VISIT else None
            links[(code, channel)] = make_link(campaign, [code], channel, place)
        return links[(code, channel)]

    def post(campaign, code, letters="SSSSS", *, device=None, ip="192.0.2.1", comment="",
             channel=Channel.ONLINE, receipt=None, created=None):  # type: ignore[no-untyped-def]
        created = created or datetime.now(timezone.utc) - timedelta(minutes=1)
        item = {"id": str(uuid.uuid4()), "token": link_for(campaign, code, channel)[1],
                "created_at": created.isoformat(),
                "answers": {k: LEVELS[x] for k, x in zip(ITEM_KEYS, letters, strict=True)},
                "comment": comment, "identity": "enterprise"}
        if receipt:
            item["receipt"] = receipt
        reply = client.post("/api/v1/sync", json={"device_id": device or str(uuid.uuid4()),
                                                  "responses": [item]},
                            environ_base={"REMOTE_ADDR": ip})
        assert reply.json["results"][0]["status"] == "stored", reply.json
        return item["id"]

    post.link_for = link_for  # type: ignore[attr-defined]
    return post


def kinds(session, campaign):  # type: ignore[no-untyped-def]
    """{response uuid: [signal kinds]} for every flagged rating."""
    report = campaign_signals(session, campaign)
    uuids = dict(session.execute(select(Response.id, Response.uuid)
                                 .where(Response.id.in_(list(report.flagged)))).all())
    return {uuids[rid]: entry.kinds for rid, entry in report.flagged.items()}, report


def test_a_normal_campaign_raises_nothing(session, campaign, send):
    # Varied ratings from different phones; an angry rater who says why; short stock comments.
    for n, letters in enumerate(["SSSSS", "SBSSS", "BBBBB", "UUUUU", "SSBBB", "UBBBB"], 1):
        send(campaign, f"ZF{n:02d}", letters, comment="办事要跑好几趟" if letters == "UUUUU" else "")
    for code in ("ZF01", "ZF02", "ZF03"):
        send(campaign, code, comment="无")
        send(campaign, code, comment="很满意")
    flagged, _ = kinds(session, campaign)
    assert flagged == {}


def test_the_reports_fixture_flags_only_its_silent_all_lowest_rating(session, hand_built):
    flagged, report = kinds(session, hand_built)
    assert list(flagged.values()) == [[sig.STRAIGHT_LINE]]
    (entry,) = report.flagged.values()
    assert entry.unit_id == unit_by_code(session, hand_built, "ZF04").id
    assert "不满意" in entry.signals[0].reason


def test_straight_line(session, campaign, send):
    silent = send(campaign, "ZF01", "UUUUU")
    send(campaign, "ZF02", "UUUUU", comment="电话一直没人接")  # says why: not flagged
    send(campaign, "ZF03", "UUUUB")  # not every item
    flagged, report = kinds(session, campaign)
    assert flagged == {silent: [sig.STRAIGHT_LINE]}
    assert "最低档" in next(iter(report.flagged.values())).describe()


def test_burst_from_one_device(session, campaign, send):
    phone = str(uuid.uuid4())
    ids = [send(campaign, "ZF01", device=phone, channel=Channel.SURVEY, ip=f"192.0.2.{n}")
           for n in range(6)]
    send(campaign, "ZF02")  # someone else
    flagged, report = kinds(session, campaign)
    assert flagged == {i: [sig.BURST] for i in ids}
    assert "同一设备 5 分钟内提交了 6 份评议" in report.flagged[
        next(iter(report.flagged))].signals[0].reason


def test_five_ratings_from_one_device_are_not_a_burst(session, campaign, send):
    phone = str(uuid.uuid4())
    for _ in range(5):
        send(campaign, "ZF01", device=phone, channel=Channel.SURVEY)
    assert kinds(session, campaign)[0] == {}


def test_burst_from_one_address(session, campaign, send):
    ids = [send(campaign, f"ZF0{1 + n % 7}", ip="198.51.100.7") for n in range(21)]
    send(campaign, "ZF01", ip="198.51.100.8")
    flagged, report = kinds(session, campaign)
    assert flagged == {i: [sig.BURST] for i in ids}
    assert "198.51.100.7" in report.flagged[next(iter(report.flagged))].signals[0].reason


def test_home_visits_are_not_bursts(session, campaign, send):
    phone = str(uuid.uuid4())
    for _ in range(8):
        send(campaign, "ZF01", "SBSSS", device=phone, channel=Channel.VISIT)
    assert kinds(session, campaign)[0] == {}


def test_many_units_from_one_poster_phone(session, campaign, send):
    phone = str(uuid.uuid4())
    ids = [send(campaign, f"ZF0{n}", device=phone, ip=f"192.0.2.{n}") for n in range(1, 6)]
    send(campaign, "ZF06", device=str(uuid.uuid4()))
    flagged, report = kinds(session, campaign)
    assert flagged == {i: [sig.MANY_UNITS] for i in ids}
    assert "5 个单位" in report.flagged[next(iter(report.flagged))].signals[0].reason


def test_same_comment(session, campaign, send):
    text = "窗口工作人员态度特别好"
    ids = [send(campaign, f"ZF0{n}", comment=text) for n in range(1, 4)]
    send(campaign, "ZF04", comment="窗口工作人员态度还可以")
    flagged, report = kinds(session, campaign)
    assert flagged == {i: [sig.SAME_COMMENT] for i in ids}
    assert "另外 2 份" in report.flagged[next(iter(report.flagged))].signals[0].reason


def test_unit_scope_reports_only_that_units_ratings(session, campaign, send):
    phone = str(uuid.uuid4())
    for n in range(1, 6):
        send(campaign, f"ZF0{n}", device=phone)
    zf01 = unit_by_code(session, campaign, "ZF01")
    report = campaign_signals(session, campaign, {zf01.id})
    assert [e.unit_id for e in report.flagged.values()] == [zf01.id]


def test_too_fast(app, session, campaign, send):
    """Time taken = the phone's submit time − the server-signed time the form was opened."""
    signer = app.extensions["link_signer"]
    created = datetime.now(timezone.utc) - timedelta(minutes=1)
    link, _ = send.link_for(campaign, "ZF01")

    def receipt(seconds_before: int) -> str:
        return signer.sign_receipt(link.id, issued_at=created - timedelta(seconds=seconds_before))

    fast = send(campaign, "ZF01", receipt=receipt(3), created=created)
    slow = send(campaign, "ZF01", receipt=receipt(40), created=created)
    send(campaign, "ZF02", created=created)  # no receipt (an old phone): nothing to measure
    opened = dict(session.execute(select(Response.uuid, Response.receipt_issued_at)).all())
    assert opened[fast] is not None and opened[slow] is not None
    flagged, report = kinds(session, campaign)
    assert flagged == {fast: [sig.TOO_FAST]}
    assert "3 秒" in next(iter(report.flagged.values())).signals[0].reason

    campaign.min_seconds = 2  # the campaign's own threshold decides
    session.commit()
    assert kinds(session, campaign)[0] == {}


def test_too_fast_is_not_hidden_by_a_phone_clock_set_ahead(app, session, campaign, send):
    """A bot that opens the form and posts at once, claiming to have taken nine minutes (within
    the clock skew allowed), still arrived two seconds after the server signed its receipt."""
    link, _ = send.link_for(campaign, "ZF01")
    now = datetime.now(timezone.utc)
    receipt = app.extensions["link_signer"].sign_receipt(link.id, issued_at=now - timedelta(seconds=2))
    bot = send(campaign, "ZF01", receipt=receipt, created=now + timedelta(minutes=9))
    flagged, _ = kinds(session, campaign)
    assert flagged == {bot: [sig.TOO_FAST]}
