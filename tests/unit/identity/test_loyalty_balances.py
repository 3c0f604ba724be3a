"""Identity's projection of loyalty's balances: users/me shows the points loyalty last
announced, 0 before any, and a late (older) announcement never puts an old balance back."""

from __future__ import annotations

from mercato.contracts.envelope import Envelope
from mercato.contracts.loyalty import LedgerEntry, LoyaltyPointsChanged
from tests.unit.identity.conftest import make_identity


def changed(user_id: str, balance: int, sequence: int) -> tuple[Envelope, LoyaltyPointsChanged]:
    event = LoyaltyPointsChanged(
        customer_id=user_id, balance=balance, sequence=sequence,
        entry=LedgerEntry(order_id=f"o-{sequence}", kind="credit", points=balance,
                          cause_event_id=f"e-{sequence}", at="2026-12-07T08:00:00Z"))
    return Envelope(id=f"l-{sequence}", type=event.type_name(), source="loyalty",
                    occurred_at="2026-12-07T08:00:00Z",
                    payload=event.model_dump(mode="json")), event


async def hear(identity, user_id: str, balance: int, sequence: int) -> None:
    envelope, event = changed(user_id, balance, sequence)
    async with identity.db.transaction() as tx:
        await identity.on_loyalty_points_changed(tx, envelope, event)


async def test_the_profile_shows_zero_points_before_any_entry():
    identity = make_identity()
    user = await identity.register_user("ada@example.com", "correct horse", "Ada")
    assert (await identity.profile(user.id))["loyalty_points"] == 0


async def test_the_profile_shows_the_last_announced_balance_whatever_the_arrival_order():
    identity = make_identity()
    user = await identity.register_user("ada@example.com", "correct horse", "Ada")
    await hear(identity, user.id, 19, 1)
    await hear(identity, user.id, 0, 3)
    await hear(identity, user.id, 24, 2)  # late: the sequence 3 is newer
    profile = await identity.profile(user.id)
    assert profile["loyalty_points"] == 0
    assert profile["email"] == "ada@example.com" and "password_hash" not in profile
