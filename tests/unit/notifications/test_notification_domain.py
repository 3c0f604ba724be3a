"""A notification's rules, without any I/O."""

import pytest

from mercato.services.notifications.domain import Notification, NotificationError


def note(**changes) -> Notification:
    fields = dict(id="n-1", user_id="user-1", kind="order_confirmed", subject="Confirmed",
                  body="Thanks", order_id="order-1", email=None, created_at="t0")
    fields.update(changes)
    return Notification(**fields)


@pytest.mark.parametrize("subject", ["", "   ", "two\nlines", "carriage\rreturn"])
def test_a_subject_must_be_one_non_blank_line(subject):
    with pytest.raises(NotificationError, match="subject"):
        note(subject=subject)


def test_the_mail_goes_to_the_email_when_given_and_to_the_user_id_otherwise():
    assert note().recipient == "user-1"
    assert note(email="ada@example.com").recipient == "ada@example.com"


def test_marking_sent_keeps_the_first_time():
    once = note().sent("t1")
    assert once.sent_at == "t1"
    assert once.sent("t2").sent_at == "t1"


def test_a_repeat_is_the_same_message_whatever_its_time_or_address():
    assert note().same_request(note(created_at="t9", email="a@b.co"))
    assert not note().same_request(note(body="Other"))
    assert not note().same_request(note(user_id="user-2"))
    assert not note().same_request(note(order_id=None))


def test_the_public_shape_has_exactly_the_documented_fields():
    assert note().public_dict() == {"id": "n-1", "kind": "order_confirmed",
                                    "subject": "Confirmed", "body": "Thanks",
                                    "order_id": "order-1", "created_at": "t0"}
