"""The notifications routes over HTTP (in process), mailing to a real mbox file."""

import mailbox

import httpx
import pytest

from mercato.chassis import Principal, require_user
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.security import ServiceTokens
from mercato.chassis.settings import load_settings
from mercato.services.notifications.bootstrap import build, outbox_path
from mercato.services.notifications.mailer import MboxMailer

BODY = {"notification_id": "n-1", "user_id": "user-1", "kind": "order_confirmed",
        "subject": "Your order is confirmed", "body": "Thanks!", "order_id": "order-1"}


@pytest.fixture
async def client(tmp_path, make_notifications):
    settings = load_settings(data_dir=tmp_path)
    runtime = Runtime("notifications", settings,
                      make_instance("notifications", 1, "http://x", "1"))
    runtime.tokens = ServiceTokens(settings.service_secret, "notifications")
    app = build(runtime)  # the lifespan is not run: no broker or registry needed here
    app.state.notifications = await make_notifications(MboxMailer(outbox_path(runtime)))
    caller = {"who": Principal(subject="user-1", roles=frozenset({"customer"}))}
    app.dependency_overrides[require_user] = lambda: caller["who"]
    service = ServiceTokens(settings.service_secret, "orders").token()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://notifications",
                                 headers={"Authorization": f"Bearer {service}"}) as http:
        http.caller = caller
        http.outbox = outbox_path(runtime)
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
    reply = await client.get("/api/v1/notifications")
    [item] = reply.json()["items"]
    assert item["id"] == "n-1"
    assert set(item) == {"id", "kind", "subject", "body", "order_id", "created_at"}
    assert (await client.get("/api/v1/notifications?limit=0")).status_code == 422


async def test_the_internal_route_needs_a_service_token(client):
    reply = await client.post("/internal/notifications", json=BODY,
                              headers={"Authorization": "Bearer nonsense"})
    assert reply.status_code == 401
