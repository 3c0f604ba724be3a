"""Payments test doubles: a card provider whose answers each test scripts, a command builder,
an outbox that fails on demand, and a reader of the outbox."""

from __future__ import annotations

import asyncio
from collections import deque

from mercato.chassis.messaging import Outbox
from mercato.contracts import Envelope, Event, all_events
from mercato.services.payments.domain import ProviderFailure, ProviderResult
from mercato.services.payments.handlers import Authorize


class FakeProvider:
    """Answers authorize with the scripted outcomes in order ("approve", "decline",
    "fail", "hang"), then approves; records every call."""

    def __init__(self, *script: str) -> None:
        self.script = deque(script)
        self.calls: list[tuple] = []
        self.gate: asyncio.Event | None = None  # when set, authorize waits for it

    async def _answer(self, kind: str, reference: str) -> ProviderResult:
        outcome = self.script.popleft() if self.script else "approve"
        if outcome == "hang":
            await asyncio.sleep(3600)
        if outcome == "fail":
            raise ProviderFailure("scripted failure")
        if outcome == "decline":
            return ProviderResult(approved=False, reason="card_declined")
        return ProviderResult(approved=True, reference=f"fake_{kind}_{reference}")

    async def authorize(self, token, amount, currency, reference):
        self.calls.append(("authorize", token, amount, currency, reference))
        if self.gate is not None:
            await self.gate.wait()
        return await self._answer("auth", reference)

    async def capture(self, provider_reference, amount):
        self.calls.append(("capture", provider_reference, amount))
        return await self._answer("capture", provider_reference)

    async def void(self, provider_reference):
        self.calls.append(("void", provider_reference))
        return await self._answer("void", provider_reference)

    async def refund(self, provider_reference, amount):
        self.calls.append(("refund", provider_reference, amount))
        return await self._answer("refund", provider_reference)

    def count(self, kind: str) -> int:
        return sum(1 for c in self.calls if c[0] == kind)


def authorize_cmd(payment_id: str = "pay-1", **changes) -> Authorize:
    fields = dict(payment_id=payment_id, order_id="order-1", customer_id="user-1",
                  amount=2599, currency="USD", card_token="tok_ok")
    fields.update(changes)
    return Authorize(**fields)


class ExplodingOutbox(Outbox):
    """Writes the event row, then fails for the event types in ``fail_on``: everything in
    that transaction must roll back."""

    fail_on: frozenset[str] = frozenset()

    async def add(self, tx, event, **kwargs):
        envelope = await super().add(tx, event, **kwargs)
        if event.type_name() in self.fail_on:
            raise RuntimeError(f"the outbox failed after writing {event.type_name()}")
        return envelope


async def outbox_events(db) -> list[tuple[Envelope, Event]]:
    """Every outbox row, in order, decoded as a consumer would: the envelope, then the
    payload validated against the contract class named by its type."""
    rows = await db.fetch_all("SELECT id, subject, body FROM outbox ORDER BY seq")
    decoded = []
    for row in rows:
        envelope = Envelope.model_validate_json(row["body"])
        assert (row["id"], row["subject"]) == (envelope.id, envelope.subject)
        decoded.append((envelope, all_events()[envelope.type].model_validate(envelope.payload)))
    return decoded
