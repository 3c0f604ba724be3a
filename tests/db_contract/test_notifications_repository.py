"""The notifications repository port (services/notifications/ports.py), held to one
behaviour on every implementation: the SQL adapter on SQLite and on PostgreSQL, and the
in-memory fake the handlers' unit tests run on (tests/support/memory/notifications.py)."""

from __future__ import annotations

import pytest

from mercato.services.notifications.domain import Notification, Recipient
from mercato.services.notifications.store import SqlNotificationRepository
from tests.support.memory.notifications import MemoryNotificationRepository

SERVICE = "notifications"  # the database the SQL adapter runs on (conftest ``contract_db``)

AT = "2026-12-06T08:00:00.000000+00:00"
LATER = "2026-12-06T09:00:00.000000+00:00"


@pytest.fixture
def repo(where, contract_db):
    return (MemoryNotificationRepository if where == "memory"
            else SqlNotificationRepository)(contract_db)


def note(nid: str, user: str = "user-1", order: str | None = "order-1", created: str = AT,
         **changes) -> Notification:
    fields = dict(id=nid, user_id=user, kind="order_confirmed", subject="Confirmed",
                  body="Thank you.", order_id=order, email="ada@example.com",
                  created_at=created)
    return Notification(**{**fields, **changes})


async def store(repo, *notes: Notification) -> None:
    async with repo.db.transaction() as tx:
        for n in notes:
            assert await repo.insert(tx, n)


async def test_nothing_stored_reads_as_none_and_empty(repo):
    assert await repo.get("n-1") is None
    async with repo.db.transaction() as tx:
        assert await repo.recipient(tx, "user-1") is None
    assert await repo.unsent(10) == []
    assert await repo.unsent_of([]) == []
    assert await repo.for_user("user-1", 10) == []
    assert await repo.for_order(["order-1"], 10) == []
    assert await repo.for_order([], 10) == []  # no ``IN ()``: PostgreSQL refuses it


async def test_an_id_is_stored_once_and_a_clash_answers_the_first_message(repo):
    first = note("n-1")
    async with repo.db.transaction() as tx:
        assert await repo.add(tx, first) == (first, True)
        assert await repo.add(tx, note("n-1", body="Other", created=LATER)) == (first, False)
        assert await repo.insert(tx, note("n-1", user="user-2")) is False
    assert await repo.get("n-1") == first


async def test_a_recipient_remembered_again_replaces_what_was_known(repo):
    async with repo.db.transaction() as tx:
        await repo.remember(tx, Recipient("user-1", "ada@example.com", "Ada"), AT)
        await repo.remember(tx, Recipient("user-2", "bob@example.com", "Bob"), AT)
        await repo.remember(tx, Recipient("user-1", "ada@lovelace.org", "Ada L."), LATER)
    async with repo.db.transaction() as tx:
        assert await repo.recipient(tx, "user-1") == Recipient(
            "user-1", "ada@lovelace.org", "Ada L.")
        assert await repo.recipient(tx, "user-2") == Recipient("user-2", "bob@example.com",
                                                               "Bob")


async def test_a_message_marked_sent_keeps_its_first_time(repo):
    await store(repo, note("n-1"), note("n-2"), note("n-3"))
    async with repo.db.transaction() as tx:
        await repo.mark_sent(tx, note("n-1", sent_at=AT))
        await repo.mark_sent(tx, note("n-1", sent_at=LATER))
        await repo.mark_sent_many(tx, [note("n-2", sent_at=LATER), note("n-1", sent_at=LATER),
                                       note("n-9", sent_at=LATER)])
    assert (await repo.get("n-1")).sent_at == AT
    assert (await repo.get("n-2")).sent_at == LATER
    assert await repo.get("n-9") is None
    assert [n.id for n in await repo.unsent(10)] == ["n-3"]


async def test_unsent_messages_come_oldest_first_ties_by_id_up_to_the_limit(repo):
    await store(repo, note("n-c", created=LATER), note("n-b"), note("n-a"), note("n-d"))
    async with repo.db.transaction() as tx:
        await repo.mark_sent(tx, note("n-d", sent_at=AT))
    assert [n.id for n in await repo.unsent(10)] == ["n-a", "n-b", "n-c"]
    assert [n.id for n in await repo.unsent(2)] == ["n-a", "n-b"]
    assert [n.id for n in await repo.unsent_of(["n-c", "n-d", "n-a", "n-x"])] == ["n-a", "n-c"]
    assert await repo.unsent(1) == [note("n-a")]


async def test_a_users_and_an_orders_messages_come_newest_first_up_to_the_limit(repo):
    await store(repo, note("n-a"), note("n-b"), note("n-c", created=LATER, order=None),
                note("n-d", user="user-2"), note("n-e", order="order-2"))
    assert [n.id for n in await repo.for_user("user-1", 10)] == ["n-c", "n-e", "n-b", "n-a"]
    assert [n.id for n in await repo.for_user("user-1", 2)] == ["n-c", "n-e"]
    assert [n.id for n in await repo.for_user("user-1", 10, ["order-1"])] == ["n-b", "n-a"]
    assert [n.id for n in await repo.for_user("user-2", 10, ["order-2"])] == []
    assert [n.id for n in await repo.for_order(["order-1"], 10)] == ["n-d", "n-b", "n-a"]
    assert [n.id for n in await repo.for_order(["order-1"], 1)] == ["n-d"]


async def test_messages_about_several_orders_come_in_one_read_newest_first(repo):
    await store(repo, note("n-a"), note("n-b", order="order-2", created=LATER),
                note("n-c", order="order-3"), note("n-d", user="user-2", order="order-2"),
                note("n-e", order=None))
    assert [n.id for n in await repo.for_user("user-1", 10, ["order-1", "order-2"])] == \
        ["n-b", "n-a"]
    assert [n.id for n in await repo.for_user("user-1", 1, ["order-1", "order-2"])] == ["n-b"]
    assert [n.id for n in await repo.for_order(["order-2", "order-3"], 10)] == \
        ["n-b", "n-d", "n-c"]


async def test_a_transaction_that_fails_leaves_nothing_behind(repo):
    await store(repo, note("n-1"))
    with pytest.raises(RuntimeError):
        async with repo.db.transaction() as tx:
            await repo.add(tx, note("n-2"))
            await repo.mark_sent(tx, note("n-1", sent_at=AT))
            await repo.remember(tx, Recipient("user-1", "ada@example.com", "Ada"), AT)
            assert await repo.recipient(tx, "user-1") is not None  # seen inside
            raise RuntimeError("the handler refused after writing")
    assert await repo.get("n-2") is None
    assert (await repo.get("n-1")).sent_at is None
    async with repo.db.transaction() as tx:
        assert await repo.recipient(tx, "user-1") is None
