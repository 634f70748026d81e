"""The questionnaire editor (issue 12, item 4): identities, levels and scores, weights, order,
and a phone-sized live preview; edits after ratings exist make a new version."""

from __future__ import annotations

import pytest
from browser.axe import assert_accessible

from .conftest import sign_in


@pytest.mark.browser
def test_editor_preview_and_saved_version(phone, live_url, make_campaign, make_user, rate,
                                          session, client, make_link):
    campaign = make_campaign()
    rate(campaign, "ZF01", "SSSSB")
    old = campaign.questionnaire
    page = phone(make_user("boss"))
    page.goto(f"{live_url}/admin/campaigns/{campaign.id}/questionnaire")
    preview = page.locator("#preview")
    assert "1. 工作效率" in preview.inner_text() and "满意" in preview.inner_text()

    page.fill("input[name=item-0-label]", "办事效率")
    page.fill("input[name=item-0-weight]", "3")
    page.locator("#items tbody tr").nth(1).locator("button.up").click()  # 服务态度 first
    page.fill("input[name=level-1-label]", "比较满意")
    page.fill("input[name=level-1-score]", "80")
    new_ident = len(old.identities)
    page.fill(f"input[name=ident-{new_ident}-label]", "普通群众")
    text = preview.inner_text()
    assert text.index("1. 服务态度") < text.index("2. 办事效率")  # live, in the new order
    assert "比较满意" in text and "基本满意" not in text and "普通群众" in text
    assert_accessible(page, "questionnaire editor")
    page.click("button:has-text('保存问卷')")
    assert "第 2 版" in page.inner_text("body")

    session.commit()  # a fresh snapshot
    new = campaign.questionnaire
    assert new.version == 2 and old.frozen_at is not None
    assert [(i.key, i.label, i.weight) for i in new.items][:2] == [
        ("attitude", "服务态度", 1), ("efficiency", "办事效率", 3)]
    levels = [(lv.key, lv.label, lv.score, lv.counts_satisfied)
              for lv in new.items[0].scale.levels]
    assert levels == [("satisfied", "满意", 100, True), ("basic", "比较满意", 80, True),
                      ("unsatisfied", "不满意", 0, False)]
    assert [c.label for c in new.identities][-1] == "普通群众"
    # The stored rating keeps the old version's rows and scores.
    assert [lv.label for lv in old.items[0].scale.levels] == ["满意", "基本满意", "不满意"]
    # Phones get the new form.
    _, token = make_link(campaign, ["ZF02"])
    form = client.get(f"/api/v1/forms/{token}").json
    assert [i["label"] for i in form["items"]][:2] == ["服务态度", "办事效率"]
    assert [lv["score"] for lv in form["items"][0]["levels"]] == [100, 80, 0]
    assert form["identities"][-1]["label"] == "普通群众"


def test_editor_rejects_bad_scores_and_weights(client, make_campaign, make_user):
    campaign = make_campaign()
    sign_in(client, make_user("boss"))
    url = f"/admin/campaigns/{campaign.id}/questionnaire"
    q = campaign.questionnaire
    base = {"title": q.title, "comment_label": q.comment_label}
    for n, item in enumerate(q.items):
        base.update({f"item-{n}-key": item.key, f"item-{n}-label": item.label,
                     f"item-{n}-weight": "1", f"item-{n}-required": "1"})
    client.application.config["WTF_CSRF_ENABLED"] = False
    for field, value, message in [("item-0-weight", "101", "权重应在 0 到 100 之间"),
                                  ("level-0-score", "120", "得分应在 0 到 100 之间"),
                                  ("item-0-weight", "abc", "权重应在 0 到 100 之间")]:
        data = dict(base)
        for n, lv in enumerate(q.items[0].scale.levels):
            data.update({f"level-{n}-key": lv.key, f"level-{n}-label": lv.label,
                         f"level-{n}-score": str(lv.score)})
        data[field] = value
        reply = client.post(url, data=data)
        assert reply.status_code == 422 and message in reply.get_data(as_text=True), field
    assert campaign.questionnaire.version == 1
