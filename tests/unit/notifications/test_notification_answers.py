"""What notifications' domain errors answer over HTTP (its table, notifications/errors.py):
the status, kind, detail and headers the orders service and operators read."""

import pytest

from mercato.services.notifications.bootstrap import build
from mercato.services.notifications.domain import NotificationError
from mercato.services.notifications.errors import ERRORS
from tests.support.service_http import bearer, service_app
from tests.support.service_http import client as http_client
from tests.unit.notifications.notification_doubles import InMemoryMailer

BODY = {"notification_id": "n-1", "user_id": "user-1", "kind": "order_confirmed",
        "subject": "Your order is confirmed", "body": "Thanks!", "order_id": "order-1"}
URL = "/internal/notifications"


@pytest.fixture
async def client(tmp_path, make_notifications):
    app, _identity, service_token = service_app("notifications", build, tmp_path)
    http_mailer = InMemoryMailer()
    app.state.notifications = await make_notifications(http_mailer)
    async with http_client(app, headers=bearer(service_token)) as http:
        http.mailer = http_mailer
        yield http


def problem(reply) -> dict:
    body = reply.json()
    body.pop("correlation_id")
    return body


async def test_the_same_id_with_other_content_is_422_idempotency_mismatch(client):
    assert (await client.post(URL, json=BODY)).status_code == 201
    reply = await client.post(URL, json={**BODY, "body": "Something else"})
    assert reply.status_code == 422
    assert problem(reply) == {
        "type": "https://mercato.dev/problems/idempotency-mismatch",
        "title": "Unprocessable Entity", "status": 422,
        "detail": "notification n-1 was first sent with another user, kind, subject, body "
                  "or order"}


async def test_a_mail_not_sent_yet_is_503_mail_unavailable_retry_after_one(client):
    client.mailer.failures = 1
    reply = await client.post(URL, json=BODY)
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "1"
    assert problem(reply) == {
        "type": "https://mercato.dev/problems/mail-unavailable",
        "title": "Service Unavailable", "status": 503,
        "detail": "notification n-1 is stored but could not be sent yet; repeat the "
                  "request to send it"}
    assert (await client.post(URL, json=BODY)).status_code == 201


def test_a_broken_rule_is_422_unprocessable_entity():
    answer = ERRORS.answer(NotificationError("subject must be one line"))
    assert (answer.status, answer.kind, answer.detail, answer.facts) == (
        422, None, "subject must be one line", {})
