"""Campaign set-up in web pages: campaigns, categories, units."""

from __future__ import annotations

from datetime import date

from sync.models import Campaign, CampaignStatus, Category, Unit


def test_create_and_edit_campaign(admin_client, post_form, session):
    reply = post_form("/admin/campaigns/new", data={
        "title": "2026年度机关作风评议", "year": "2026", "opens_on": "2026-03-01",
        "closes_on": "2026-04-30", "supervision_phone": "0791-83869993", "bottom_n": "3",
        "status": "draft", "template": "shuangwan"})
    assert reply.status_code == 302
    campaign = session.query(Campaign).one()
    assert (campaign.title, campaign.year, campaign.opens_on, campaign.closes_on) == (
        "2026年度机关作风评议", 2026, date(2026, 3, 1), date(2026, 4, 30))
    assert campaign.supervision_phone == "0791-83869993" and campaign.bottom_n == 3
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.questionnaire.template_key == "shuangwan"
    assert "2026年度机关作风评议" in admin_client.get("/admin/campaigns").get_data(as_text=True)

    url = f"/admin/campaigns/{campaign.id}"
    reply = post_form(url, data={"title": "改名后的活动", "year": "2026", "opens_on": "2026-03-01",
                                 "closes_on": "2026-05-31", "supervision_phone": "12345",
                                 "bottom_n": "2", "status": "open"})
    assert reply.status_code == 302
    session.expire_all()
    assert campaign.title == "改名后的活动" and campaign.status == CampaignStatus.OPEN
    assert campaign.closes_on == date(2026, 5, 31)


def test_campaign_form_errors_are_chinese_4xx(admin_client, post_form, session):
    reply = post_form("/admin/campaigns/new", data={
        "title": "", "year": "abc", "opens_on": "2026-05-01", "closes_on": "2026-04-01",
        "bottom_n": "2", "status": "open", "template": "jiguan5"})
    assert reply.status_code == 422
    text = reply.get_data(as_text=True)
    assert "请填写活动名称" in text
    assert "结束日期不能早于开始日期" in text
    assert "不是有效的整数" in text  # WTForms' own zh catalogue
    assert session.query(Campaign).count() == 0
    reply = post_form("/admin/campaigns/new", data={
        "title": "x", "year": "2026", "bottom_n": "2", "status": "open", "template": "nope"})
    assert reply.status_code == 422
    assert session.query(Campaign).count() == 0


def test_categories_and_units(admin_client, post_form, make_campaign, session):
    campaign = make_campaign(units={"政府工作部门": [("ZF01", "市场监管局")]})
    page = f"/admin/campaigns/{campaign.id}/units"
    assert post_form(page, f"/admin/campaigns/{campaign.id}/categories",
                     {"name": "党群工作部门"}).status_code == 302
    reply = post_form(page, f"/admin/campaigns/{campaign.id}/categories", {"name": "党群工作部门"})
    assert reply.status_code == 422 and "类别“党群工作部门”已存在" in reply.get_data(as_text=True)
    category = session.query(Category).filter_by(name="党群工作部门").one()

    assert post_form(page, f"/admin/campaigns/{campaign.id}/units", {
        "category_id": category.id, "code": "DQ01", "name": "组织部"}).status_code == 302
    reply = post_form(page, f"/admin/campaigns/{campaign.id}/units", {
        "category_id": category.id, "code": "ZF01", "name": "重复"})
    assert reply.status_code == 422 and "单位代码“ZF01”已存在" in reply.get_data(as_text=True)
    reply = post_form(page, f"/admin/campaigns/{campaign.id}/units", {
        "category_id": category.id, "code": "有 空格", "name": "x"})
    assert reply.status_code == 422 and "单位代码只能用字母" in reply.get_data(as_text=True)
    # a category of another campaign is not a valid choice
    other = make_campaign(title="另一活动")
    reply = post_form(page, f"/admin/campaigns/{campaign.id}/units", {
        "category_id": other.categories[0].id, "code": "X1", "name": "x"})
    assert reply.status_code == 422
    session.expire_all()
    assert sorted(u.code for u in campaign.units) == ["DQ01", "ZF01"]

    reply = post_form(page, f"/admin/campaigns/{campaign.id}/categories/{category.id}",
                      {"name": "党群部门"})
    assert reply.status_code == 302
    session.expire_all()
    assert category.name == "党群部门"


def test_edit_unit_keeps_code_once_links_exist(admin_client, post_form, make_campaign, make_link,
                                               session):
    campaign = make_campaign()
    unit = next(u for u in campaign.units if u.code == "ZF02")
    url = f"/admin/units/{unit.id}/edit"
    other_category = next(c for c in campaign.categories if c.name == "中直单位")
    reply = post_form(url, data={"category_id": other_category.id, "code": "ZF09",
                                 "name": "人力资源和社会保障局"})
    assert reply.status_code == 302
    session.expire_all()
    assert (unit.code, unit.name, unit.category.name) == ("ZF09", "人力资源和社会保障局", "中直单位")

    make_link(campaign, codes=["ZF09"])
    reply = post_form(url, data={"category_id": other_category.id, "code": "ZF10",
                                 "name": "人社局"})
    assert reply.status_code == 422
    assert "不能修改单位代码" in reply.get_data(as_text=True)
    session.expire_all()
    assert unit.code == "ZF09"
    # the name may still change
    assert post_form(url, data={"category_id": other_category.id, "code": "ZF09",
                                "name": "人社局"}).status_code == 302
    session.expire_all()
    assert unit.name == "人社局"
    assert admin_client.get("/admin/units/99999/edit").status_code == 404
    assert session.query(Unit).count() == 3
