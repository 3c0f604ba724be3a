"""Identity publishes UserRegistered through its outbox, in the transaction that stores the
user: for every customer, and for the first admin too."""

from __future__ import annotations

import pytest

from mercato.contracts.identity import UserRegistered
from mercato.services.identity.domain import DuplicateEmail, InvalidEmail
from mercato.services.identity.handlers import registered_event_id
from tests.support.memory import MemoryDatabase
from tests.support.memory.outbox import ExplodingMemoryOutbox
from tests.support.outbox import EVERY_EVENT
from tests.unit.identity.conftest import make_identity


async def test_registering_stores_the_user_and_its_user_registered_event_together(identity):
    user = await identity.register_user("Ada@Example.com", "correct horse", " Ada ")
    assert (await identity.get_user(user.id)).email == "ada@example.com"
    [(envelope, event)] = identity.outbox.events()
    assert (envelope.id, envelope.subject, envelope.source) == (
        registered_event_id(user.id), "mercato.identity.UserRegistered", "identity")
    assert event == UserRegistered(user_id=user.id, email="ada@example.com", name="Ada")


async def test_the_event_carries_no_password_material(identity):
    await identity.register_user("ada@example.com", "correct horse", "Ada")
    [envelope] = identity.outbox.envelopes
    body = envelope.model_dump_json().encode()  # the outbox row's body
    assert b"correct horse" not in body
    assert b"argon2" not in body


async def test_a_failure_after_the_insert_rolls_back_the_user_and_its_event():
    db = MemoryDatabase()
    outbox = ExplodingMemoryOutbox(db, "identity", fail_on=EVERY_EVENT)
    identity = make_identity(db, outbox=outbox)
    with pytest.raises(RuntimeError):
        await identity.register_user("ada@example.com", "correct horse", "Ada")
    assert identity.users.users == []
    assert outbox.envelopes == []
    assert not outbox.wakeup.is_set()


async def test_registering_a_taken_email_again_is_409_and_adds_no_second_event(identity):
    first = await identity.register_user("ada@example.com", "correct horse", "Ada")
    with pytest.raises(DuplicateEmail):
        await identity.register_user("ADA@example.com", "correct horse", "Ada")
    assert [u.id for u in identity.users.users] == [first.id]
    assert [e.user_id for _, e in identity.outbox.events()] == [first.id]


async def test_an_invalid_registration_publishes_nothing(identity):
    with pytest.raises(InvalidEmail):
        await identity.register_user("not an address", "correct horse", "Ada")
    assert identity.outbox.events() == []


async def test_the_first_admin_is_published_once_however_often_it_is_ensured(identity):
    assert await identity.ensure_admin("admin@mercato.local", "mercato-admin") is True
    assert await identity.ensure_admin("admin@mercato.local", "mercato-admin") is False
    admin = await identity.users.by_email("admin@mercato.local")
    [(envelope, event)] = identity.outbox.events()
    assert envelope.id == registered_event_id(admin.id)
    assert event == UserRegistered(user_id=admin.id, email="admin@mercato.local",
                                   name="Administrator")


async def test_each_user_gets_its_own_event(identity):
    a = await identity.register_user("ada@example.com", "correct horse", "Ada")
    b = await identity.register_user("bob@example.com", "correct horse", "Bob")
    events = identity.outbox.events()
    assert [e.user_id for _, e in events] == [a.id, b.id]
    assert len({envelope.id for envelope, _ in events}) == 2
