"""Answers to an earlier questionnaire version keep counting under their item after an edit."""

from __future__ import annotations

from sync.exports.responses import responses_table
from sync.questionnaires import ItemEdit, QuestionnaireEdit, edit_questionnaire
from sync.reports import campaign_tally


def test_tallies_and_exports_span_questionnaire_versions(client, session, make_campaign,
                                                         make_link, make_item):
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"])
    before = make_item(token, level="satisfied")
    assert client.post("/api/v1/sync", json={"responses": [before]}).json["results"][0][
        "status"] == "stored"

    old = campaign.questionnaire
    edit_questionnaire(session, campaign, QuestionnaireEdit(
        title=old.title, comment_label=old.comment_label, identity_required=False,
        items=[ItemEdit(label="办事效率", key="efficiency"),  # relabelled, same key
               *[ItemEdit(label=i.label, key=i.key) for i in old.items[1:4]]]))  # 廉洁自律 dropped
    session.commit()
    assert campaign.questionnaire.id != old.id

    after = make_item(token, level="unsatisfied",
                      answers={k: "unsatisfied" for k in
                               ("efficiency", "attitude", "competence", "conduct")})
    assert client.post("/api/v1/sync", json={"responses": [after]}).json["results"][0][
        "status"] == "stored"

    tally = campaign_tally(session, campaign)
    (zf01,) = [u for u in tally.units() if u.code == "ZF01"]
    cells = {cell.item_key: cell for cell in zf01.items}
    # one 满意 (100) before the edit and one 不满意 (0) after, in the same 办事效率 column
    assert cells["efficiency"].item_label == "办事效率"
    assert (cells["efficiency"].total, cells["efficiency"].score) == (2, 50)
    # the dropped item keeps its column with the one answer it had
    assert (cells["integrity"].total, cells["integrity"].score) == (1, 100)
    assert list(cells) == ["efficiency", "attitude", "competence", "conduct", "integrity"]

    table = responses_table(session, campaign)
    rows = {row[0]: row for row in table.rows}
    column = table.headers.index("办事效率")
    assert rows[before["id"]][column] == "满意"
    assert rows[after["id"]][column] == "不满意"
