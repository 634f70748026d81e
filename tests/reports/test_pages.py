"""Results, unit and dashboard pages: escaping, filters from the query string, bad input."""

from __future__ import annotations

import pytest

from sync.models import Role

from .conftest import Rating, unit_by_code

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '" onmouseover="x'


@pytest.fixture
def hostile(session, make_campaign, rate, make_user, login):  # type: ignore[no-untyped-def]
    """Hostile text in a unit name, a category name and comments; an admin signed in."""
    campaign = make_campaign(units={f"类别{ATTRIBUTE}": [("ZF01", f"局{SCRIPT}"),
                                                         ("ZF02", f"办{ATTRIBUTE}")]})
    rate(campaign, [Rating("ZF01", "SSSSS", comment=SCRIPT),
                    Rating("ZF02", "BBBBU", comment=ATTRIBUTE)])
    login(make_user("boss", role=Role.ADMIN))
    return campaign


def test_hostile_text_renders_escaped_on_every_page(client, session, hostile):
    script_escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    attribute_escaped = "&#34; onmouseover=&#34;x"
    base = f"/admin/campaigns/{hostile.id}"
    pages = {
        f"{base}/results": [script_escaped, attribute_escaped],
        f"{base}/dashboard": [script_escaped, attribute_escaped],
        f"{base}/units/{unit_by_code(session, hostile, 'ZF01').id}": [script_escaped],
        f"{base}/units/{unit_by_code(session, hostile, 'ZF02').id}": [attribute_escaped],
    }
    for url, escaped in pages.items():
        reply = client.get(url)
        assert reply.status_code == 200, url
        html = reply.get_data(as_text=True)
        assert SCRIPT not in html, url
        assert 'onmouseover="x' not in html, url
        for text in escaped:
            assert text in html, (url, text)


def test_api_chart_markup_is_escaped(client, hostile):
    data = client.get(f"/api/v1/admin/campaigns/{hostile.id}/tallies").json
    # Plain JSON strings carry the text as is (the page sets them with textContent) ...
    assert data["latest_comments"][0]["comment"] in (SCRIPT, ATTRIBUTE.strip())
    # ... while the chart SVGs, set with innerHTML, hold it escaped.
    for svg in data["charts"].values():
        assert "<script" not in svg and 'onmouseover="' not in svg


def test_results_page_shows_hand_computed_numbers(client, hand_built, make_user, login):
    login(make_user("boss", role=Role.ADMIN))
    html = client.get(f"/admin/campaigns/{hand_built.id}/results").get_data(as_text=True)
    assert "93.33" in html and "53.33" in html  # ZF01 560/6, ZF04 160/3
    assert "66.67%" in html  # ZF04 10 of 15
    rows = {name: next(r for r in html.split("<tr") if f">{name}</a>" in r)
            for name in ("市场监管局", "人社局", "住建局", "交通局")}
    assert [("连续两轮后2位" in rows[n], 'bottom-tag">后2位' in rows[n]) for n in rows] == \
        [(False, False), (False, True), (False, True), (True, True)]
    assert "第 4 名 / 共 4" in rows["交通局"] and "样本少（3 份）" in rows["交通局"]
    assert "不少于 4 个时才标记" in html  # the rule behind the mark is on the page
    assert "2023年度评议" in html


def test_filters_in_the_query_string_change_the_tallies(client, hand_built, make_user, login):
    login(make_user("boss", role=Role.ADMIN))
    api = f"/api/v1/admin/campaigns/{hand_built.id}/tallies"

    def zf04(query: str):  # type: ignore[no-untyped-def]
        data = client.get(api + query).json
        return next(u for c in data["categories"] for u in c["units"] if u["code"] == "ZF04")

    assert zf04("")["respondents"] == 3
    assert zf04("?channel=online")["score"] == 80  # (100+60)/2 without the home visit
    assert zf04("?channel=visit")["score"] == 0
    assert zf04("?identity=rural")["respondents"] == 0
    data = client.get(api + "?identity=rural").json
    assert data["summary"]["responses"] == 2
    assert data["filter"] == {"identity": ["rural"]}


@pytest.mark.parametrize("query, message", [
    ("?channel=fax", "未知的评议方式“fax”"),
    ("?identity=alien", "未知的评议人员身份“alien”"),
    ("?from=2024-13-01", "开始日期“2024-13-01”格式不正确"),
    ("?to=yesterday", "结束日期“yesterday”格式不正确"),
    ("?from=2024-05-02&to=2024-05-01", "开始日期不能晚于结束日期"),
])
def test_bad_filters_get_400_with_chinese_message(client, hand_built, make_user, login,
                                                   query, message):
    login(make_user("boss", role=Role.ADMIN))
    page = client.get(f"/admin/campaigns/{hand_built.id}/results{query}")
    assert page.status_code == 400
    assert message in page.get_data(as_text=True)
    api = client.get(f"/api/v1/admin/campaigns/{hand_built.id}/tallies{query}")
    assert api.status_code == 400
    assert message in api.json["error"]


def test_dashboard_shows_activity(client, hand_built, make_user, login):
    login(make_user("boss", role=Role.ADMIN))
    html = client.get(f"/admin/campaigns/{hand_built.id}/dashboard").get_data(as_text=True)
    assert '<div class="big" id="total">13</div>' in html
    assert "入户访谈</td><td class=\"num\">1</td>" in html
    assert "线上评议</td><td class=\"num\">12</td>" in html
    assert "电话没人接" in html and "办事要跑好几趟" in html
    assert "<svg" in html and "cdn" not in html.lower() and "<script src" not in html


def test_export_links_carry_the_filter(client, hand_built, make_user, login):
    login(make_user("boss", role=Role.ADMIN))
    html = client.get(f"/admin/campaigns/{hand_built.id}/results?channel=visit")\
        .get_data(as_text=True)
    link = f"/admin/campaigns/{hand_built.id}/export.csv?table=responses&amp;channel=visit"
    assert link in html
    body = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    rows = body.lstrip("\ufeff").strip().splitlines()
    assert len(rows) == 2 and ",ZF04,交通局,入户访谈,青山村," in rows[1]  # ZF04's home visit only
