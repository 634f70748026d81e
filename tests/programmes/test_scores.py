"""Seed 004's scoring worked by hand and compared with `collector scores --json`."""

from __future__ import annotations

import json
from fractions import Fraction as F

import pytest

from sync.programmes.models import Deduction, MethodScore

from .helpers import PROGRAMME, write_csv


def scores_json(runner, campaign) -> dict:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["scores", "--campaign", str(campaign.id), "--json"])
    assert result.exit_code == 0, result.output
    return {u["unit"]: u for u in json.loads(result.output)}


def test_seed004_scores_ranks_grades_and_bottom_flags_match_the_hand_computation(
        runner, admin_client, seed004):  # type: ignore[no-untyped-def]
    got = scores_json(runner, seed004)

    # Method scores by hand. hall: mean of level scores over the unit's poster ratings;
    # deputies: the personal-link ratings; third and net: the imported sheets.
    hall = {"A1": F(100), "A2": F(100), "A3": F(60), "A4": F(50), "A5": F(220, 3),
            "B1": F(100), "B2": F(60)}
    deputies = {"A1": F(100), "A2": F(60), "A3": F(80), "A4": F(220, 3), "B1": F(60),
                "B2": F(100)}
    third = {"A1": F(98), "A2": F(171, 2), "A3": F(78), "A4": F(88), "A5": F(40), "B1": F(95)}
    net = {"A1": F(85), "A2": F(80), "A3": F(85), "A4": F(75), "A5": F(60), "B1": F(88),
           "B2": F(92)}
    for key, expected in (("hall", hall), ("deputies", deputies), ("third", third),
                          ("net", net)):
        for code, score in expected.items():
            assert got[code]["methods"][key]["score"] == pytest.approx(float(score)), (key, code)
    # A unit without a score for a method has it left out, and says so.
    assert "deputies" not in got["A5"]["methods"] and got["A5"]["missing_methods"] == ["deputies"]
    assert "third" not in got["B2"]["methods"]

    # Composite: weighted mean (40/30/20/10) over the methods the unit has.
    before = {
        "A1": (40 * 98 + 30 * 100 + 20 * 100 + 10 * 85) / 100,          # 97.7
        "A2": (40 * 85.5 + 30 * 100 + 20 * 60 + 10 * 80) / 100,        # 84.2
        "A3": (40 * 78 + 30 * 60 + 20 * 80 + 10 * 85) / 100,           # 73.7
        "A4": (40 * 88 + 30 * 50 + 20 * 220 / 3 + 10 * 75) / 100,      # 72.3667
        "A5": (40 * 40 + 30 * 220 / 3 + 10 * 60) / 80,                 # 55.0 (no deputies)
        "B1": (40 * 95 + 30 * 100 + 20 * 60 + 10 * 88) / 100,          # 88.8
        "B2": (30 * 60 + 20 * 100 + 10 * 92) / 60,                     # 78.6667 (no third)
    }
    # Deductions: 纪委监委 uncapped (−1 per case, −0.5 per criticism); 媒体 capped at 5.
    deducted = {"A1": 1 + 0.5 + 0.3, "A2": 5 + 1, "A3": 1 + 1 + 0.5, "A4": 0, "A5": 0.2,
                "B1": 0, "B2": 0}
    for code in before:
        assert got[code]["before_deductions"] == pytest.approx(before[code]), code
        assert got[code]["deductions"] == pytest.approx(deducted[code]), code
        assert got[code]["score"] == pytest.approx(before[code] - deducted[code]), code
    assert got["A2"]["deductions"] == pytest.approx(6.0)  # 5.3 from media, capped at 5

    # Ranks within the category; ties share a rank.
    assert {c: got[c]["rank"] for c in before} == {
        "A1": 1, "A2": 2, "A4": 3, "A3": 4, "A5": 5, "B1": 1, "B2": 2}
    assert got["A1"]["methods"]["hall"]["rank"] == got["A2"]["methods"]["hall"]["rank"] == 1
    assert got["A5"]["methods"]["hall"]["rank"] == 3
    assert got["A1"]["methods"]["net"]["rank"] == got["A3"]["methods"]["net"]["rank"] == 1
    assert got["A2"]["methods"]["net"]["rank"] == 3

    # Grades: 满意 ≥ 90, 基本满意 ≥ 60, else 不满意.
    assert {c: got[c]["grade"] for c in before} == {
        "A1": "满意", "A2": "基本满意", "A3": "基本满意", "A4": "基本满意", "A5": "不满意",
        "B1": "基本满意", "B2": "基本满意"}

    # Bottom 3 per method and overall, within the category; 中直单位 has only 2 units: none.
    assert {c: sorted(got[c]["bottom"]) for c in before} == {
        "A1": [],
        "A2": ["deputies", "net", "third"],
        "A3": ["deputies", "hall", "overall", "third"],
        "A4": ["deputies", "hall", "net", "overall"],
        "A5": ["hall", "net", "overall", "third"],
        "B1": [], "B2": [],
    }
    assert [got[c]["top"] for c in ("A1", "A2", "A4", "A3", "A5")] == [True] * 3 + [False] * 2

    # The same array over the admin API.
    reply = admin_client.get(f"/api/v1/admin/campaigns/{seed004.id}/scores")
    assert reply.status_code == 200
    assert {u["unit"]: u for u in reply.json} == got


def test_a_withdrawn_deduction_stops_counting(runner, session, seed004):  # type: ignore[no-untyped-def]
    from sync.programmes.deductions import withdraw_deduction

    row = session.query(Deduction).filter_by(source="纪委监委", reason="通报批评").one()
    withdraw_deduction(row, "经复核不属实")
    session.commit()
    assert scores_json(runner, seed004)["A3"]["deductions"] == pytest.approx(2.0)


@pytest.mark.parametrize(("rows", "message"), [
    ([["A1", 90], ["ZZ9", 80]], "第3行：单位代码“ZZ9”不在本活动中"),
    ([["A1", 90], ["A2", 101]], "第3行：得分“101”必须是 0 到 100 之间的数字"),
    ([["A1", 90], ["A1", 80]], "第3行：单位代码“A1”与第2行重复"),
])
def test_a_bad_score_row_refuses_the_whole_sheet(runner, session, seed004, tmp_path, rows,
                                                 message):  # type: ignore[no-untyped-def]
    before = {(s.unit_id, s.score) for s in session.query(MethodScore).filter_by(method_key="third")}
    path = write_csv(tmp_path / "bad.csv", ["单位代码", "得分"], rows)
    result = runner.invoke(args=["method-scores", "--campaign", str(seed004.id), "--method",
                                 "third", str(path)])
    assert result.exit_code != 0 and message in result.output
    session.rollback()
    assert {(s.unit_id, s.score) for s in
            session.query(MethodScore).filter_by(method_key="third")} == before


def test_unknown_method_and_ratings_method_are_refused(runner, seed004, tmp_path):  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "s.csv", ["单位代码", "得分"], [["A1", 90]])
    for key, message in (("nope", "评议方案中没有测评方式“nope”"),
                         ("hall", "得分来自评议数据，不能导入")):
        result = runner.invoke(args=["method-scores", "--campaign", str(seed004.id),
                                     "--method", key, str(path)])
        assert result.exit_code != 0 and message in result.output


def test_a_bad_deduction_row_refuses_the_whole_sheet(runner, session, seed004, tmp_path):  # type: ignore[no-untyped-def]
    count = session.query(Deduction).count()
    path = write_csv(tmp_path / "d.csv", ["单位代码", "来源", "分值", "事由", "日期"], [
        ["A1", "媒体", 0.1, "不配合采访", "2018-06-01"],
        ["A1", "新闻媒体", 0.1, "拼错的来源会逃过上限", "2018-06-01"],
        ["A2", "媒体", -1, "负分", "2018-06-01"],
        ["A3", "媒体", 0.1, "", "2018-13-01"],
    ])
    result = runner.invoke(args=["deductions", "--campaign", str(seed004.id), str(path)])
    assert result.exit_code != 0
    assert "第3行：来源“新闻媒体”不在评议方案的减分来源" in result.output
    assert "第4行：分值“-1”必须是大于 0" in result.output
    assert "第5行：事由不能为空；日期“2018-13-01”格式不正确" in result.output
    session.rollback()
    assert session.query(Deduction).count() == count


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p["methods"].append(dict(p["methods"][0])), "测评方式 key“third”重复"),
    (lambda p: p["methods"][1].update(channels=["fax"]), "未知渠道“fax”"),
    (lambda p: p["methods"][0].update(channels=["online"]), "须二选一"),
    (lambda p: p.update(grades=[{"label": "满意", "min": 60}, {"label": "基本满意", "min": 90}]),
     "从高到低"),
    (lambda p: p.update(bottom_n=-1), "bottom_n"),
    (lambda p: p["deduction_caps"].update({"媒体": "五"}), "不是有效的数字"),
])
def test_a_malformed_programme_is_refused_whole(runner, make_campaign, tmp_path, change,
                                                message):  # type: ignore[no-untyped-def]
    campaign = make_campaign()
    data = json.loads(json.dumps(PROGRAMME))
    change(data)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["programme", "--campaign", str(campaign.id), str(path)])
    assert result.exit_code != 0 and message in result.output
    assert "no programme" in runner.invoke(
        args=["scores", "--campaign", str(campaign.id), "--json"]).output


def test_xlsx_scores_import(runner, session, seed004, tmp_path):  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["单位代码", "得分"])
    sheet.append(["B2", 66.5])
    book.save(tmp_path / "third.xlsx")
    result = runner.invoke(args=["method-scores", "--campaign", str(seed004.id), "--method",
                                 "third", str(tmp_path / "third.xlsx")])
    assert result.exit_code == 0, result.output
    got = scores_json(runner, seed004)
    assert got["B2"]["methods"]["third"]["score"] == 66.5
    assert "third" not in got["A1"]["methods"]  # the sheet replaced the method's scores


def test_two_rounds_running_at_the_bottom_are_marked(runner, session, seed004, make_campaign,
                                                     tmp_path):  # type: ignore[no-untyped-def]
    from .helpers import UNITS

    later = make_campaign(title="次年评议", units=UNITS)
    later.previous_campaign_id = seed004.id
    session.commit()
    path = tmp_path / "next.json"
    path.write_text(json.dumps({"methods": [{"key": "third", "name": "第三方测评", "weight": 1,
                                             "source": "import"}]}), encoding="utf-8")
    assert runner.invoke(args=["programme", "--campaign", str(later.id), str(path)]).exit_code == 0
    sheet = write_csv(tmp_path / "t.csv", ["单位代码", "得分"],
                      [["A1", 90], ["A2", 50], ["A3", 95], ["A4", 60], ["A5", 40]])
    assert runner.invoke(args=["method-scores", "--campaign", str(later.id), "--method", "third",
                               str(sheet)]).exit_code == 0
    got = scores_json(runner, later)
    # This round's bottom three (third and overall alike): A5, A2, A4. Last round: overall
    # A3, A4, A5; third A2, A3, A5.
    assert {c: got[c]["bottom_twice"] for c in ("A1", "A2", "A3", "A4", "A5")} == {
        "A1": [], "A2": ["third"], "A3": [], "A4": ["overall"], "A5": ["third", "overall"]}
