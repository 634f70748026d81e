"""A campaign scored the way seed 004 (银川) scores: four methods, deductions with caps."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sync.links import sign_link
from sync.models import Channel, Link
from sync.pool.sample import personal_links

ITEMS = ["efficiency", "attitude", "competence", "conduct", "integrity"]
LEVEL_KEYS = {100: "satisfied", 60: "basic", 0: "unsatisfied"}

PROGRAMME = {
    "methods": [
        {"key": "third", "name": "第三方测评", "weight": 40, "source": "import"},
        {"key": "hall", "name": "政务服务中心测评", "weight": 30, "channels": ["online"]},
        {"key": "deputies", "name": "两代表一委员评议", "weight": 20, "channels": ["survey"]},
        {"key": "net", "name": "网络及跟踪评议", "weight": 10, "source": "import"},
    ],
    "deduction_caps": {"纪委监委": None, "媒体": 5},
    "grades": [{"label": "满意", "min": 90}, {"label": "基本满意", "min": 60},
               {"label": "不满意", "min": None}],
    "bottom_n": 3,
}

UNITS = {
    "政府工作部门": [("A1", "市场监管局"), ("A2", "人社局"), ("A3", "住建局"), ("A4", "交通局"),
                 ("A5", "城管局")],
    "中直单位": [("B1", "税务局"), ("B2", "气象局")],
}


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def rating(token: str, score: int, unit: str | None = None, comment: str = "",
           created_at: str | None = None) -> dict:
    """A sync item rating every item at the level worth `score`."""
    item = {"id": str(uuid.uuid4()), "token": token,
            "created_at": created_at or datetime.now(timezone.utc).isoformat(),
            "answers": {key: LEVEL_KEYS[score] for key in ITEMS},
            "comment": comment, "identity": "enterprise"}
    if unit is not None:
        item["unit"] = unit
    return item


def post(client, items: list[dict], device: str | None = None):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/sync", json={"device_id": device or str(uuid.uuid4()),
                                             "responses": items})


def personal_tokens(app, session, campaign) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(name, group, token) of the current draw, in draw order."""
    signer = app.extensions["link_signer"]
    out = []
    for row in personal_links(session, campaign):
        link = session.get(Link, row.link_id)
        out.append((row.name, row.group, sign_link(signer, link)))
    return out


def build_seed004(app, session, client, runner, make_campaign, make_link, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The fixture: programme, imported scores, hall and deputies ratings, deductions."""
    campaign = make_campaign(units=UNITS)
    cid = str(campaign.id)
    (tmp_path / "programme.json").write_text(json.dumps(PROGRAMME, ensure_ascii=False),
                                              encoding="utf-8")
    result = runner.invoke(args=["programme", "--campaign", cid, str(tmp_path / "programme.json")])
    assert result.exit_code == 0, result.output

    third = write_csv(tmp_path / "third.csv", ["单位代码", "得分"],
                      [["A1", 98], ["A2", 85.5], ["A3", 78], ["A4", 88], ["A5", 40], ["B1", 95]])
    net = write_csv(tmp_path / "net.csv", ["单位代码", "得分"],
                    [["A1", 85], ["A2", 80], ["A3", 85], ["A4", 75], ["A5", 60], ["B1", 88],
                     ["B2", 92]])
    for key, path in (("third", third), ("net", net)):
        result = runner.invoke(args=["method-scores", "--campaign", cid, "--method", key,
                                     str(path)])
        assert result.exit_code == 0, result.output

    # 政务服务中心测评: hall posters (线上评议), one phone per rater.
    hall = {"A1": [100, 100], "A2": [100, 100], "A3": [60], "A4": [100, 0],
            "A5": [60, 60, 100], "B1": [100], "B2": [60]}
    for code, scores in hall.items():
        token = make_link(campaign, [code], Channel.ONLINE)[1]
        for score in scores:
            reply = post(client, [rating(token, score, comment="窗口服务热情，办事效率高")])
            assert reply.json["results"][0]["status"] == "stored", reply.json

    # 两代表一委员: raters drawn from the pool rate through personal links (问卷调查 channel).
    pool = write_csv(tmp_path / "pool.csv", ["姓名", "组别", "手机"],
                     [["张伟", "党代表", "13800000001"], ["李娜", "人大代表", "13800000002"],
                      ["王芳", "政协委员", ""], ["刘洋", "党代表", ""]])
    assert runner.invoke(args=["pool", "import", "--campaign", cid, str(pool)]).exit_code == 0
    result = runner.invoke(args=["pool", "draw", "--campaign", cid, "--per-group", "1",
                                 "--seed", "2018-yinchuan"])
    assert result.exit_code == 0, result.output
    tokens = [t for _, _, t in personal_tokens(app, session, campaign)]
    deputies = [
        {"A1": 100, "A2": 60, "A3": 100, "A4": 100, "B1": 60, "B2": 100},
        {"A3": 60, "A4": 60},
        {"A4": 60},
    ]
    for token, ratings in zip(tokens, deputies, strict=True):
        reply = post(client, [rating(token, s, unit=code, comment="服务意识需要加强")
                              for code, s in ratings.items()])
        assert [r["status"] for r in reply.json["results"]] == ["stored"] * len(ratings), reply.json

    deductions = write_csv(tmp_path / "deductions.csv", ["单位代码", "来源", "分值", "事由", "日期"], [
        ["A1", "纪委监委", 1, "班子成员被立案调查", "2018-03-02"],
        ["A1", "纪委监委", 0.5, "作风问题被通报批评", "2018-05-10"],
        ["A1", "媒体", 0.3, "不配合采访 3 次", "2018-06-01"],
        ["A2", "媒体", 2, "热线问题逾期未答复 20 次", "2018-07-01"],
        ["A2", "媒体", 2, "推诿扯皮导致二次投诉 20 次", "2018-08-01"],
        ["A2", "媒体", 1.3, "邀请上线不配合 13 次", "2018-09-01"],
        ["A2", "纪委监委", 1, "班子成员被立案调查", "2018-10-01"],
        ["A3", "纪委监委", 1, "班子成员被立案调查", "2018-02-01"],
        ["A3", "纪委监委", 1, "班子成员被立案调查", "2018-04-01"],
        ["A3", "纪委监委", 0.5, "通报批评", "2018-04-09"],
        ["A5", "媒体", 0.2, "不配合采访 2 次", "2018-11-01"],
    ])
    result = runner.invoke(args=["deductions", "--campaign", cid, str(deductions)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    return campaign
