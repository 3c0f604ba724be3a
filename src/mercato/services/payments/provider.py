"""The simulated card provider: the behaviour of the test card tokens of the public API.

``tok_ok`` approves, ``tok_decline`` declines, ``tok_error`` fails every time, ``tok_slow``
answers only after the provider timeout, and any other token declines. Every call first
waits the configured latency. The provider keeps no state: its reference is derived from
ours, so asking twice for the same payment gives the same authorization, as an idempotent
real provider would.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

from mercato.services.payments.domain import ProviderFailure, ProviderRecord, ProviderResult

Sleep = Callable[[float], Awaitable[None]]

APPROVE = "tok_ok"
DECLINE = "tok_decline"
ERROR = "tok_error"
SLOW = "tok_slow"


class SimulatedProvider:
    def __init__(self, *, latency: float, timeout: float, sleep: Sleep = asyncio.sleep) -> None:
        self._latency = latency
        # Long enough that a caller bounded by ``timeout`` always gives up first.
        self._slow_delay = timeout * 2 + 1.0
        self._sleep = sleep

    async def _wait(self) -> None:
        if self._latency > 0:
            await self._sleep(self._latency)

    async def authorize(self, token: str, amount: int, currency: str,
                        reference: str) -> ProviderResult:
        await self._wait()
        if token == SLOW:
            await self._sleep(self._slow_delay)
        if token == ERROR:
            raise ProviderFailure("the card provider answered 500 (simulated fault)")
        if token == DECLINE:
            return ProviderResult(approved=False, reason="card_declined")
        if token not in (APPROVE, SLOW):
            return ProviderResult(approved=False, reason="unknown_card_token")
        return ProviderResult(approved=True, reference=authorization_reference(reference))

    async def capture(self, provider_reference: str, amount: int) -> ProviderResult:
        await self._wait()
        return ProviderResult(approved=True, reference=provider_reference)

    async def void(self, provider_reference: str) -> ProviderResult:
        await self._wait()
        return ProviderResult(approved=True, reference=provider_reference)

    async def refund(self, provider_reference: str, amount: int) -> ProviderResult:
        await self._wait()
        return ProviderResult(approved=True, reference=provider_reference)


    async def lookup(self, reference: str) -> ProviderRecord | None:
        """Nothing: this provider keeps no state, and a call of it that timed out was
        cancelled before it answered, so it never happened."""
        return None


def authorization_reference(payment_id: str) -> str:
    return "sim_" + hashlib.sha256(payment_id.encode()).hexdigest()[:24]
