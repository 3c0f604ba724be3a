"""The notifications routes over HTTP (in process), mailing to a real mbox file."""

import mailbox

import pytest

from mercato.services.notifications.bootstrap import build, outbox_path
from mercato.services.notifications.mailer import MboxMailer
from tests.support.service_http import bearer, service_app
from tests.support.service_http import client as http_client

BODY = {"notification_id": "n-1", "user_id": "user-1", "kind": "order_confirmed",
        "subject": "Your order is confirmed", "body": "Thanks!", "order_id": "order-1"}


@pytest.fixture
async def client(tmp_path, make_notifications):
    app, identity, service_token = service_app("notifications", build, tmp_path)
    # the lifespan is not run: no broker or registry needed here
    outbox = outbox_path(app.state.runtime)
    app.state.notifications = await make_notifications(MboxMailer(outbox))
    async with http_client(app, headers=bearer(service_token)) as http:
        http.user = identity.headers("user-1")
        http.admin = identity.headers("admin-1", ("customer", "admin"))
        http.outbox = outbox
        yield http


async def test_sending_answers_201_and_appends_the_mail_to_the_outbox(client):
    reply = await client.post("/internal/notifications", json={**BODY, "email": "a@b.co"})
    assert reply.status_code == 201
    assert (reply.json()["id"], reply.json()["subject"]) == ("n-1", "Your order is confirmed")
    assert client.outbox.parent.name == "notifications"
    [message] = list(mailbox.mbox(client.outbox))
    assert (message["To"], message["Subject"]) == ("a@b.co", "Your order is confirmed")


async def test_a_repeat_answers_the_same_message_and_mails_once(client):
    first = await client.post("/internal/notifications", json=BODY)
    again = await client.post("/internal/notifications", json=BODY)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert len(list(mailbox.mbox(client.outbox))) == 1


async def test_malformed_json_is_a_400(client):
    reply = await client.post("/internal/notifications", content=b"{",
                              headers={"Content-Type": "application/json"})
    assert reply.status_code == 400


@pytest.mark.parametrize(("change", "field"), [
    ({"subject": None}, "subject"),
    ({"subject": "two\nlines"}, "subject"),
    ({"email": "not-an-address"}, "email"),
    ({"user_id": 7}, "user_id"),
    ({"body": ""}, "body"),
    ({"cc": "x@y.z"}, "cc"),
])
async def test_a_bad_field_is_a_422_that_names_it(client, change, field):
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    reply = await client.post("/internal/notifications", json=body)
    assert reply.status_code == 422
    assert [e["field"] for e in reply.json()["errors"]] == [field]
    assert not client.outbox.exists()


async def test_the_caller_lists_only_their_messages_with_the_public_fields(client):
    await client.post("/internal/notifications", json=BODY)
    await client.post("/internal/notifications",
                      json={**BODY, "notification_id": "n-2", "user_id": "user-2"})
    reply = await client.get("/api/v1/notifications", headers=client.user)
    [item] = reply.json()["items"]
    assert item["id"] == "n-1"
    assert set(item) == {"id", "kind", "subject", "body", "order_id", "created_at"}
    assert (await client.get("/api/v1/notifications?limit=0",
                             headers=client.user)).status_code == 422


async def test_with_an_order_id_the_caller_sees_only_their_messages_about_that_order(client):
    await client.post("/internal/notifications", json=BODY)
    await client.post("/internal/notifications",
                      json={**BODY, "notification_id": "n-2", "order_id": "order-2"})
    await client.post("/internal/notifications",
                      json={**BODY, "notification_id": "n-3", "user_id": "user-2"})
    mine = await client.get("/api/v1/notifications?order_id=order-1", headers=client.user)
    other = await client.get("/api/v1/notifications?order_id=order-9", headers=client.user)
    assert [i["id"] for i in mine.json()["items"]] == ["n-1"]
    assert other.status_code == 200 and other.json() == {"items": []}
    assert (await client.get("/api/v1/notifications?order_id=",
                             headers=client.user)).status_code == 422


async def test_an_admin_sees_every_customers_messages_about_an_order(client):
    await client.post("/internal/notifications", json=BODY)
    await client.post("/internal/notifications",
                      json={**BODY, "notification_id": "n-3", "user_id": "user-2"})
    await client.post("/internal/notifications",
                      json={**BODY, "notification_id": "n-4", "order_id": "order-2"})
    about = await client.get("/api/v1/notifications?order_id=order-1", headers=client.admin)
    own = await client.get("/api/v1/notifications", headers=client.admin)
    assert sorted(i["id"] for i in about.json()["items"]) == ["n-1", "n-3"]
    assert own.json() == {"items": []}


async def test_the_internal_route_needs_a_service_token(client):
    reply = await client.post("/internal/notifications", json=BODY,
                              headers={"Authorization": "Bearer nonsense"})
    assert reply.status_code == 401


async def test_several_order_ids_list_the_messages_about_any_of_them_in_one_call(client):
    for nid, order in (("n-1", "order-1"), ("n-2", "order-2"), ("n-3", "order-3")):
        await client.post("/internal/notifications",
                          json={**BODY, "notification_id": nid, "order_id": order})
    both = await client.get("/api/v1/notifications?order_id=order-1&order_id=order-3"
                            "&order_id=order-1", headers=client.user)
    assert sorted(i["id"] for i in both.json()["items"]) == ["n-1", "n-3"]
    about = await client.get("/api/v1/notifications?order_id=order-2&order_id=order-3",
                             headers=client.admin)
    assert sorted(i["id"] for i in about.json()["items"]) == ["n-2", "n-3"]


async def test_more_order_ids_than_the_bound_is_a_422_naming_order_id(client):
    ids = "&".join(f"order_id=o-{i}" for i in range(21))
    reply = await client.get(f"/api/v1/notifications?{ids}", headers=client.user)
    assert reply.status_code == 422
    [error] = reply.json()["errors"]
    assert error["field"] == "query.order_id" and "20" in error["message"]
    twenty = "&".join(f"order_id=o-{i}" for i in range(20))
    assert (await client.get(f"/api/v1/notifications?{twenty}",
                             headers=client.user)).status_code == 200
