def test_sync_stores_one(client, make_campaign, make_link, make_item, session):
    from sync.models import Response
    campaign = make_campaign()
    _, token = make_link(campaign)
    item = make_item(token)
    reply = client.post("/api/v1/sync", json={"device_id": "d", "responses": [item]})
    assert reply.status_code == 200
    assert reply.json["results"] == [{"id": item["id"], "status": "stored"}]
    assert session.query(Response).count() == 1
