"""Edits after ratings arrive never change stored answers: a questionnaire in use is versioned."""

from __future__ import annotations

from sqlalchemy import select

from sync.models import Answer, Questionnaire, QuestionnaireItem, ScaleLevel

ITEM_KEYS = ["efficiency", "attitude", "competence", "conduct", "integrity"]


def stored_answers(session, response_uuid: str):  # type: ignore[no-untyped-def]
    """(item key, item label, questionnaire id, level label, score) of a stored response."""
    from sync.models import Response

    rows = session.execute(
        select(QuestionnaireItem.key, QuestionnaireItem.label, QuestionnaireItem.questionnaire_id,
               ScaleLevel.label, Answer.score)
        .join(Answer, Answer.item_id == QuestionnaireItem.id)
        .join(ScaleLevel, ScaleLevel.id == Answer.level_id)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.uuid == response_uuid).order_by(QuestionnaireItem.position)).all()
    return [tuple(r) for r in rows]


def edit_form(q, **overrides):  # type: ignore[no-untyped-def]
    """The questionnaire page's fields as they stand, with overrides."""
    data = {"title": q.title, "comment_label": q.comment_label}
    for n, item in enumerate(q.items):
        data[f"item-{n}-key"] = item.key
        data[f"item-{n}-label"] = item.label
        if item.required:
            data[f"item-{n}-required"] = "1"
    data.update(overrides)
    return data


def test_edit_after_ratings_makes_a_new_version(admin_client, post_form, client, make_campaign,
                                                make_link, make_item, session):
    campaign = make_campaign()
    _, token = make_link(campaign)
    first = make_item(token, answers={k: "basic" for k in ITEM_KEYS})
    first["answers"]["integrity"] = "unsatisfied"
    assert client.post("/api/v1/sync", json={"device_id": "d1", "responses": [first]}
                       ).json["results"][0]["status"] == "stored"
    before = stored_answers(session, first["id"])
    old_q = campaign.questionnaire
    assert len(before) == 5 and before[0][1] == "工作效率" and before[-1][3:] == ("不满意", 0)

    url = f"/admin/campaigns/{campaign.id}/questionnaire"
    assert "第 1 版" in admin_client.get(url).get_data(as_text=True)
    form = edit_form(old_q, **{"item-0-label": "办事效率",          # relabel
                               "item-4-remove": "1",               # drop 廉洁自律
                               "item-5-label": "窗口环境",           # add a new item
                               "item-5-required": "1"})
    form.pop("item-1-required")                                    # 服务态度 becomes optional
    reply = post_form(url, data=form)
    assert reply.status_code == 302
    session.expire_all()

    # the old answers, their labels and scores are exactly as stored
    assert stored_answers(session, first["id"]) == before
    assert all(row[2] == old_q.id for row in before)
    new_q = campaign.questionnaire
    assert new_q.id != old_q.id and new_q.version == 2 and new_q.previous_id == old_q.id
    assert old_q.frozen_at is not None
    assert [i.label for i in old_q.items] == ["工作效率", "服务态度", "业务水平", "工作作风", "廉洁自律"]
    assert [(i.label, i.required) for i in new_q.items] == [
        ("办事效率", True), ("服务态度", False), ("业务水平", True), ("工作作风", True),
        ("窗口环境", True)]
    # item keys carry over so forms cached on phones keep working for the items that remain
    assert [i.key for i in new_q.items][:4] == ITEM_KEYS[:4]

    # phones now get the new form, and a new rating is stored against the new version
    definition = client.get(f"/api/v1/forms/{token}").json
    assert [i["label"] for i in definition["items"]] == [i.label for i in new_q.items]
    new_key = new_q.items[-1].key
    second = make_item(token, answers={"efficiency": "satisfied", "competence": "satisfied",
                                       "conduct": "satisfied", new_key: "unsatisfied"})
    assert client.post("/api/v1/sync", json={"device_id": "d2", "responses": [second]}
                       ).json["results"][0]["status"] == "stored"
    after = stored_answers(session, second["id"])
    assert {row[2] for row in after} == {new_q.id}
    assert ("窗口环境", "不满意", 0) in [(r[1], r[3], r[4]) for r in after]
    # an old phone still sending the removed item is refused precisely, not half-stored
    stale = make_item(token)
    result = client.post("/api/v1/sync", json={"device_id": "d3", "responses": [stale]}
                         ).json["results"][0]
    assert result["status"] == "rejected" and "integrity" in result["error"]
    # and the first rating still reads the same after all of this
    assert stored_answers(session, first["id"]) == before


def test_a_second_edit_versions_again_and_unchanged_saves_do_not(admin_client, post_form, client,
                                                                 make_campaign, make_link,
                                                                 make_item, session):
    campaign = make_campaign()
    _, token = make_link(campaign)
    url = f"/admin/campaigns/{campaign.id}/questionnaire"
    client.post("/api/v1/sync", json={"device_id": "d", "responses": [make_item(token)]})
    q1 = campaign.questionnaire
    assert post_form(url, data=edit_form(q1)).status_code == 302  # nothing changed
    session.expire_all()
    assert campaign.questionnaire.id == q1.id
    assert post_form(url, data=edit_form(q1, title="新标题")).status_code == 302
    session.expire_all()
    q2 = campaign.questionnaire
    assert (q2.version, q2.title) == (2, "新标题") and q1.title != "新标题"
    client.post("/api/v1/sync", json={"device_id": "d", "responses": [make_item(token)]})
    assert post_form(url, data=edit_form(q2, **{"item-0-label": "效率"})).status_code == 302
    session.expire_all()
    assert campaign.questionnaire.version == 3
    assert session.query(Questionnaire).count() == 3


def test_open_campaign_without_ratings_still_versions(admin_client, post_form, make_campaign,
                                                      session):
    """A rating may arrive at any moment while a campaign is open: never edit its rows."""
    campaign = make_campaign()
    q = campaign.questionnaire
    url = f"/admin/campaigns/{campaign.id}/questionnaire"
    assert "生成新的一版" in admin_client.get(url).get_data(as_text=True)
    assert post_form(url, data=edit_form(q, **{"item-0-label": "办事效率"})).status_code == 302
    session.expire_all()
    assert campaign.questionnaire.version == 2 and q.items[0].label == "工作效率"


def test_draft_questionnaire_is_edited_in_place(admin_client, post_form, make_campaign, session):
    from sync.models import CampaignStatus

    campaign = make_campaign(status=CampaignStatus.DRAFT)
    q = campaign.questionnaire
    assert "生成新的一版" not in admin_client.get(
        f"/admin/campaigns/{campaign.id}/questionnaire").get_data(as_text=True)
    url = f"/admin/campaigns/{campaign.id}/questionnaire"
    reply = post_form(url, data=edit_form(q, **{"item-0-label": "办事效率", "item-2-remove": "1"}))
    assert reply.status_code == 302
    session.expire_all()
    assert campaign.questionnaire.id == q.id and q.version == 1
    assert [i.label for i in q.items] == ["办事效率", "服务态度", "工作作风", "廉洁自律"]
    assert session.query(QuestionnaireItem).count() == 4


def test_invalid_edits_are_refused_and_change_nothing(admin_client, post_form, make_campaign,
                                                      session):
    campaign = make_campaign()
    q = campaign.questionnaire
    url = f"/admin/campaigns/{campaign.id}/questionnaire"
    cases = [
        (edit_form(q, **{"item-1-label": "工作效率"}), "评议内容“工作效率”重复"),
        (edit_form(q, **{f"item-{n}-remove": "1" for n in range(5)}), "问卷至少要有一项评议内容"),
        (edit_form(q, **{"item-0-key": "forged"}), "请刷新页面后重试"),
        (edit_form(q, title=" "), "请填写问卷标题"),
    ]
    for data, message in cases:
        reply = post_form(url, data=data)
        assert reply.status_code == 422, message
        assert message in reply.get_data(as_text=True)
    session.expire_all()
    assert [i.label for i in q.items] == ["工作效率", "服务态度", "业务水平", "工作作风", "廉洁自律"]
    assert campaign.questionnaire_id == q.id and session.query(Questionnaire).count() == 1


def test_switching_template_keeps_old_answers(admin_client, post_form, client, make_campaign,
                                              make_link, make_item, session):
    campaign = make_campaign()
    _, token = make_link(campaign)
    item = make_item(token)
    client.post("/api/v1/sync", json={"device_id": "d", "responses": [item]})
    before = stored_answers(session, item["id"])
    old_id = campaign.questionnaire_id
    url = f"/admin/campaigns/{campaign.id}/questionnaire"
    reply = post_form(url, f"{url}/template", {"template": "haochaping"})
    assert reply.status_code == 302
    session.expire_all()
    assert campaign.questionnaire.template_key == "haochaping"
    assert campaign.questionnaire.previous_id == old_id and campaign.questionnaire.version == 2
    assert stored_answers(session, item["id"]) == before
    assert session.get(Questionnaire, old_id).frozen_at is not None


def test_switching_a_draft_template_drops_the_old_one(admin_client, post_form, make_campaign,
                                                      session):
    from sync.models import CampaignStatus

    campaign = make_campaign(status=CampaignStatus.DRAFT)
    old_id = campaign.questionnaire_id
    url = f"/admin/campaigns/{campaign.id}/questionnaire"
    assert post_form(url, f"{url}/template", {"template": "shuangwan"}).status_code == 302
    session.expire_all()
    assert session.get(Questionnaire, old_id) is None
    assert campaign.questionnaire.template_key == "shuangwan"
    assert post_form(url, f"{url}/template", {"template": "nope"}).status_code == 400


def test_item_keys_span_every_version(admin_client, post_form, client, make_campaign, make_link,
                                      make_item, session):
    """Reports and exports can find an old answer's column by its item key."""
    from sync.questionnaires import item_keys, questionnaire_versions

    campaign = make_campaign()
    _, token = make_link(campaign)
    client.post("/api/v1/sync", json={"device_id": "d", "responses": [make_item(token)]})
    q1 = campaign.questionnaire
    url = f"/admin/campaigns/{campaign.id}/questionnaire"
    assert post_form(url, data=edit_form(q1, **{"item-0-label": "办事效率"})).status_code == 302
    session.expire_all()
    q2 = campaign.questionnaire
    assert [q.version for q in questionnaire_versions(session, campaign)] == [2, 1]
    keys = item_keys(session, campaign)
    assert len(keys) == 10
    old_answer_ids = [a.item_id for a in session.query(Answer).all()]
    assert sorted(keys[i] for i in old_answer_ids) == sorted(ITEM_KEYS)
    assert {keys[i.id] for i in q2.items} == set(ITEM_KEYS)
