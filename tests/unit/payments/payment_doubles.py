"""Payments test doubles: a card provider whose answers each test scripts, an in-memory
outbox that fails on cue, a command builder, and what the routes answer for a handler's
domain error."""

from __future__ import annotations

import asyncio
from collections import deque

from mercato.chassis.errors import Answer
from mercato.services.payments.domain import ProviderFailure, ProviderResult
from mercato.services.payments.errors import ERRORS
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


def answer(exc: BaseException) -> Answer:
    """What the payments routes answer for ``exc`` (errors.py); it must be in the table."""
    found = ERRORS.answer(exc)
    assert found is not None, f"payments' table does not answer {type(exc).__name__}"
    return found


def refused(exc: BaseException) -> tuple[int, str | None]:
    """The status and problem kind the routes answer for ``exc``."""
    found = answer(exc)
    return found.status, found.kind
