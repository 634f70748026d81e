"""Tallies, scores, ranks, bottom-N and comparison marks equal numbers worked out by hand.

Every expected value below is derived by hand from the fixture in conftest.py (see its
docstring); the arithmetic is in the comments. The suite runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sync.models import Channel
from sync.reports import REPORT_TZ, TallyFilter, campaign_tally

from .conftest import Rating


def by_code(tally):  # type: ignore[no-untyped-def]
    return {u.code: u for u in tally.units()}


def test_scores_rates_and_ranks_match_hand_computation(session, hand_built):
    tally = campaign_tally(session, hand_built)
    units = by_code(tally)

    # ZF01: SSSSS, BSSSS → 效率 (100+60)/2 = 80, other items 100;
    # overall (2·80 + 4·100)/6 = 560/6 = 93.333…; 10 of 10 answers satisfied.
    zf01 = units["ZF01"]
    assert zf01.respondents == 2
    assert [c.score for c in zf01.items] == [80, 100, 100, 100, 100]
    assert zf01.score == pytest.approx(93.3333, abs=1e-4)
    assert zf01.satisfaction_rate == 1.0
    assert zf01.items[0].counts == {"满意": 1, "基本满意": 1, "不满意": 0}

    # ZF02: BBBBB, SSSSS → every item (60+100)/2 = 80; overall 80.
    assert units["ZF02"].score == 80
    # ZF03: SSBBB → (2·100 + 100 + 60 + 60 + 60)/6 = 480/6 = 80: ties ZF02.
    assert [c.score for c in units["ZF03"].items] == [100, 100, 60, 60, 60]
    assert units["ZF03"].score == 80

    # ZF04: UUUUU, SSSSS, BBBBB → every item (0+100+60)/3 = 53.333…; 10 of 15 satisfied.
    zf04 = units["ZF04"]
    assert zf04.respondents == 3
    assert zf04.score == pytest.approx(53.3333, abs=1e-4)
    assert zf04.satisfaction_rate == pytest.approx(0.6667, abs=1e-4)
    assert zf04.items[2].counts == {"满意": 1, "基本满意": 1, "不满意": 1}
    assert zf04.items[2].total == 3
    assert zf04.items[2].satisfaction_rate == pytest.approx(0.6667, abs=1e-4)

    # DQ02: BBBBB, UBBBB → 效率 (60+0)/2 = 30 with 满意率 1/2; others 60;
    # overall (2·30 + 4·60)/6 = 300/6 = 50; 9 of 10 answers satisfied.
    dq02 = units["DQ02"]
    assert dq02.items[0].score == 30
    assert dq02.items[0].satisfaction_rate == 0.5
    assert dq02.score == 50
    assert dq02.satisfaction_rate == 0.9
    # DQ03: UUUUU → 0, 满意率 0. DQ04: no ratings → no score.
    assert units["DQ03"].score == 0
    assert units["DQ03"].satisfaction_rate == 0.0
    assert units["DQ04"].score is None
    assert units["DQ04"].satisfaction_rate is None
    assert units["DQ04"].respondents == 0
    assert tally.respondents == 13

    # Ranks within category, ties share: 政府 93.33 > 80 = 80 > 53.33 → 1, 2, 2, 4.
    assert {c: units[c].rank for c in ("ZF01", "ZF02", "ZF03", "ZF04")} == \
        {"ZF01": 1, "ZF02": 2, "ZF03": 2, "ZF04": 4}
    # 党群 100 > 50 > 0, DQ04 unrated; 中直 alone.
    assert {c: units[c].rank for c in ("DQ01", "DQ02", "DQ03", "DQ04", "ZZ01")} == \
        {"DQ01": 1, "DQ02": 2, "DQ03": 3, "DQ04": None, "ZZ01": 1}

    # Bottom two = fewer than two rated units below: ZF02 and ZF03 (1 below each), ZF04 (0).
    # The mark needs 2·N = 4 rated units: 党群 has three (DQ04 unrated), 中直 one — no marks.
    assert {c for c, u in units.items() if u.bottom} == {"ZF02", "ZF03", "ZF04"}
    assert {c: units[c].ranked_in_category for c in ("ZF01", "DQ01", "ZZ01")} == \
        {"ZF01": 4, "DQ01": 3, "ZZ01": 1}
    # Every unit has fewer than the default 30 ratings: all ranked units carry the note.
    assert all(u.small_sample for u in units.values() if u.rank)

    # Category order and order within category (rank, then code).
    assert [c.name for c in tally.categories] == ["政府工作部门", "党群工作部门", "中直单位"]
    assert [u.code for u in tally.categories[1].units] == ["DQ01", "DQ02", "DQ03", "DQ04"]


def test_comparison_with_previous_campaign(session, hand_built):
    units = by_code(campaign_tally(session, hand_built))
    # Previous: ZF02 100 and ZF05 100 share rank 1, ZF01 60 is 3rd, ZF04 0 is 4th;
    # bottom two there: ZF01 and ZF04.
    assert (units["ZF01"].previous.score, units["ZF01"].previous.rank) == (60, 3)
    assert units["ZF01"].previous.bottom is True
    assert (units["ZF02"].previous.score, units["ZF02"].previous.rank) == (100, 1)
    assert units["ZF02"].previous.bottom is False
    assert (units["ZF04"].previous.score, units["ZF04"].previous.rank) == (0, 4)
    assert units["ZF03"].previous is None  # new this year
    assert units["DQ01"].previous is None  # no 党群 units last year
    # Bottom two rounds running: only ZF04 (ZF01 left the bottom, ZF02 was top last year).
    assert {c for c, u in units.items() if u.bottom_twice} == {"ZF04"}


def test_channel_filter(session, hand_built):
    tally = campaign_tally(session, hand_built, TallyFilter(channels=frozenset({Channel.ONLINE})))
    units = by_code(tally)
    # Without the home-visit UUUUU, ZF04 is SSSSS, BBBBB → 80 everywhere, all satisfied.
    assert units["ZF04"].respondents == 2
    assert units["ZF04"].score == 80
    assert units["ZF04"].satisfaction_rate == 1.0
    # 政府 becomes 93.33, 80, 80, 80 → ranks 1, 2, 2, 2 and the three 80s are the bottom two.
    assert [units[c].rank for c in ("ZF01", "ZF02", "ZF03", "ZF04")] == [1, 2, 2, 2]
    assert [units[c].bottom for c in ("ZF01", "ZF02", "ZF03", "ZF04")] == \
        [False, True, True, True]
    assert tally.respondents == 12

    visits = by_code(campaign_tally(session, hand_built,
                                    TallyFilter(channels=frozenset({Channel.VISIT}))))
    assert visits["ZF04"].score == 0
    assert visits["ZF04"].respondents == 1
    assert visits["ZF01"].respondents == 0


def test_identity_filter(session, hand_built):
    tally = campaign_tally(session, hand_built, TallyFilter(identities=frozenset({"rural"})))
    units = by_code(tally)
    # ZF01 BSSSS only: (2·60 + 4·100)/6 = 520/6 = 86.667; DQ02 UBBBB only: (0 + 4·60)/6 = 40.
    assert units["ZF01"].score == pytest.approx(86.6667, abs=1e-4)
    assert units["DQ02"].score == 40
    assert units["ZF02"].score is None
    assert tally.respondents == 2


def test_date_filter(session, hand_built):
    today = datetime.now(REPORT_TZ).date()
    recent = by_code(campaign_tally(session, hand_built,
                                    TallyFilter(date_from=today - timedelta(days=3))))
    # ZF02's BBBBB was ten days ago: only SSSSS remains → 100.
    assert recent["ZF02"].score == 100
    assert recent["ZF02"].respondents == 1
    assert recent["ZF01"].respondents == 2
    old = campaign_tally(session, hand_built, TallyFilter(date_to=today - timedelta(days=5)))
    assert by_code(old)["ZF02"].score == 60
    assert old.respondents == 1


def test_weights_change_overall_score(session, make_campaign, rate):
    campaign = make_campaign(units={"政府工作部门": [("ZF01", "市场监管局")]})
    items = campaign.questionnaire.items
    items[0].weight, items[4].weight = 3, 0  # 工作效率 ×3, 廉洁自律 left out of the overall
    session.commit()
    rate(campaign, [Rating("ZF01", "USSSU")])
    # (3·0 + 100 + 100 + 100)/(3+1+1+1) = 300/6 = 50; the zero-weight item still has its tally.
    unit = by_code(campaign_tally(session, campaign))["ZF01"]
    assert unit.score == 50
    assert unit.items[4].score == 0


def test_secretary_view_keeps_ranks_computed_over_all_units(session, hand_built):
    zf03 = next(u for u in hand_built.units if u.code == "ZF03")
    restricted = campaign_tally(session, hand_built).restricted({zf03.id})
    assert [u.code for u in restricted.units()] == ["ZF03"]
    assert [c.name for c in restricted.categories] == ["政府工作部门"]
    assert restricted.unit(zf03.id).rank == 2
    assert restricted.respondents == 1
