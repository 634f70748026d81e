"""Results say what their colours and marks mean (issue 12, items 1 and 7), on a 375×667 phone.

Categories: 大类 (12 units, scores 100 down to 0), 三家 (3 units), 两家 (供电公司 97.33 over three
ratings, 气象局 24 over thirty): the colour follows the score, the marks are labelled tags.
"""

from __future__ import annotations

import pytest

from sync.charts import BANDS
from sync.models import Role

TWELVE = [(f"DL{i:02d}", f"大类单位{i:02d}") for i in range(1, 13)]
#: letters per unit giving 100, 93.33, 86.67 … (S=100, B=60, U=0 over five items)
SCORES = ["SSSSS", "SSSSB", "SSSBB", "SSBBB", "SBBBB", "BBBBB", "BBBBU", "BBBUU", "BBUUU",
          "BUUUU", "UUUUU", "UUUUU"]


def band_colour(score: float) -> str:
    return next(b.colour for b in BANDS if score >= b.floor)


def bar_fills(page, category: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Unit name → fill of its score bar in the category's chart (from the bar's tooltip)."""
    return page.evaluate("""(title) => {
      const svg = [...document.querySelectorAll('svg')].find(s => s.getAttribute('aria-label') === title);
      const out = {};
      svg.querySelectorAll('rect > title').forEach(t => {
        out[t.textContent.split('（')[0]] = t.parentElement.getAttribute('fill'); });
      return out; }""", f"{category}综合得分")


def marks(page, code: str) -> str:  # type: ignore[no-untyped-def]
    return page.locator(f'tr[data-code="{code}"] td.marks').inner_text()


@pytest.mark.browser
def test_colour_by_band_and_labelled_marks_in_2_3_and_12_unit_categories(
        phone, live_url, make_campaign, make_user, rate, session):
    campaign = make_campaign(units={"大类": TWELVE,
                                    "三家": [("SJ1", "甲局"), ("SJ2", "乙局"), ("SJ3", "丙局")],
                                    "两家": [("LJ1", "供电公司"), ("LJ2", "气象局")]})
    for (code, _), letters in zip(TWELVE, SCORES, strict=True):
        rate(campaign, code, letters)
    for code, letters in [("SJ1", "SSSSS"), ("SJ2", "SSSSB"), ("SJ3", "UUUUU")]:
        rate(campaign, code, letters)
    rate(campaign, "LJ1", "SSSSS", n=2)
    rate(campaign, "LJ1", "SSSSB")  # 97.33 over 3 ratings
    rate(campaign, "LJ2", "BBUUU", n=30)  # 24 over 30 ratings
    campaign.min_ratings = 30
    session.commit()

    page = phone(make_user("boss"))
    page.goto(f"{live_url}/admin/campaigns/{campaign.id}/results")
    # 两家: 供电公司 97.33 is first and green, 气象局 24 is red — colour follows the score.
    fills = bar_fills(page, "两家")
    assert fills["供电公司"] == band_colour(97.33) == BANDS[0].colour
    assert fills["气象局"] == band_colour(24) == BANDS[-1].colour
    # No 后2位 in a category of two or three; ranks say "of how many".
    for code in ("LJ1", "LJ2", "SJ1", "SJ2", "SJ3"):
        assert "后2位" not in marks(page, code)
    assert page.locator('tr[data-code="SJ3"] .rank').inner_text() == "第 3 名 / 共 3"
    assert page.locator('tr[data-code="LJ2"] .rank').inner_text() == "第 2 名 / 共 2"
    # Small samples are noted (3 ratings), 30 ratings are not.
    assert "样本少（3 份）" in marks(page, "LJ1")
    assert "样本少" not in marks(page, "LJ2")

    # 12 units: exactly the last two are marked, as a labelled tag, and colours follow bands.
    marked = [code for code, _ in TWELVE if "后2位" in marks(page, code)]
    assert marked == ["DL11", "DL12"]  # both 0, tied last
    assert page.locator('tr[data-code="DL04"] .rank').inner_text() == "第 4 名 / 共 12"
    fills = bar_fills(page, "大类")
    assert fills["大类单位01"] == BANDS[0].colour and fills["大类单位12"] == BANDS[-1].colour
    assert fills["大类单位03"] == band_colour(86.67)  # 良好, though ranked 3rd
    # The rule behind every mark is on the page.
    rules = page.locator("#rules").inner_text()
    assert "后2位" in rules and "不少于 4 个时才标记" in rules and "少于 30 份" in rules
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375


@pytest.mark.browser
def test_secretary_reads_the_overall_score_at_375px(phone, live_url, make_campaign, make_user,
                                                     rate, artifacts_dir):
    campaign = make_campaign(units={"政府工作部门": [("ZF01", "市场监督管理局（综合执法）"),
                                                     ("ZF02", "人社局")]})
    rate(campaign, "ZF01", "SSSSB", n=2)
    rate(campaign, "ZF02", "BBBBB")
    zf01 = next(u for u in campaign.units if u.code == "ZF01")
    page = phone(make_user("zf01", Role.SECRETARY, units=[zf01]))
    page.goto(f"{live_url}/admin/campaigns/{campaign.id}/results")
    header = page.locator("table.ranking th", has_text="综合得分").first
    cell = page.locator('tr[data-code="ZF01"] td.score')
    for box in (header.bounding_box(), cell.bounding_box()):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    assert cell.inner_text().startswith("92")
    # Scrolling the table sideways keeps the unit's name in view (sticky first column).
    page.locator(".scroll").first.evaluate("e => e.scrollLeft = 400")
    name = page.locator('tr[data-code="ZF01"] th.first').bounding_box()
    assert name is not None and 0 <= name["x"] < 50
    page.screenshot(path=f"{artifacts_dir}/ux-secretary-results-375.png", full_page=True)
