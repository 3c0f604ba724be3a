"""What payments' handlers and checkout reactions need from the world, as Protocols: its
repositories (payments with their ledger and tombstones; the checkout intents; the doubts
about the provider) and the card provider. The adapters (``store.py``, ``intents.py``,
``doubt_store.py``, ``provider.py``, ``provider_http.py``) implement them; the
handlers' tests run on in-memory fakes of the same Protocols (tests/support/memory), and the
repositories' contract tests hold every implementation to the same behaviour."""

from __future__ import annotations

from typing import Protocol

from mercato.chassis.data import Connection, Row
from mercato.contracts.orders import OrderPlaced
from mercato.services.payments.domain import Payment, ProviderRecord, ProviderResult


class Tombstoned(Exception):
    """The payment id was voided before it was ever authorized."""


class StaleStatus(Exception):
    """The payment's status changed since it was read."""


class PaymentRepository(Protocol):
    """Payments, their ledger (one entry per thing that happened to a payment, never
    changed) and the tombstones of ids voided before they were stored. Writes take the
    caller's transaction (``tx``) and hold the payment's named lock in it, so that two
    replicas writing one id, or a tombstone racing an add, take turns."""

    async def get(self, payment_id: str) -> Payment | None:
        """The stored payment; None if there is none."""
        ...

    async def is_tombstoned(self, payment_id: str) -> bool:
        """Whether ``payment_id`` was voided before it was ever stored."""
        ...

    async def for_order(self, order_id: str) -> list[Payment]:
        """The order's payments, oldest first (by ``created_at``, then id)."""
        ...

    async def ledger(self, payment_id: str) -> list[Row]:
        """The payment's entries in the order written: ``kind``, ``amount``, ``currency``,
        ``provider_reference``, ``detail`` and ``created_at``."""
        ...

    async def summaries(self) -> list[Row]:
        """Every payment's ``payment_id``, ``order_id``, ``status``, ``amount`` and
        ``currency``, oldest first (by ``created_at``, then id; for ``mercato verify``)."""
        ...

    async def add(self, tx: Connection, payment: Payment, kind: str) -> tuple[Payment, bool]:
        """Store a new payment with its first entry ``kind`` (its failure reason the detail)
        and answer it and True; the payment already stored under its id and False, writing
        nothing; ``Tombstoned`` when the id was voided first."""
        ...

    async def move(self, tx: Connection, before: Payment, after: Payment, kind: str) -> None:
        """Store ``after``'s status and ``updated_at`` with an entry ``kind`` if the stored
        status is still ``before``'s (compare-and-set); else ``StaleStatus``, writing
        nothing (for an unknown payment too)."""
        ...

    async def tombstone(self, tx: Connection, payment_id: str, at: str) -> Payment | None:
        """The stored payment if there is one; else ``payment_id`` is void for good (again
        is nothing) and the answer None. Never a tombstone and a payment both."""
        ...


class IntentRepository(Protocol):
    """What payments keeps from OrderPlaced for a choreographed checkout (intents.py says
    why). Each write is a unit of work of its own: a reaction writes nothing else with it."""

    async def remember(self, event: OrderPlaced, at: str) -> None:
        """Keep the order's customer, total, currency, sealed card token (or "") and
        checkout; the first OrderPlaced of an order is kept, a repeat changes nothing."""
        ...

    async def get(self, order_id: str) -> Row | None:
        """The order's ``order_id``, ``customer_id``, ``amount``, ``currency``,
        ``sealed_card_token`` and ``checkout``; None while its OrderPlaced is unheard."""
        ...

    async def forget_card(self, order_id: str) -> None:
        """Empty the order's sealed card token, keeping the rest; an unknown order is
        nothing (no intent is made)."""
        ...


class CardProvider(Protocol):
    """The port to a card processor. ``reference`` is our payment id, which a real
    provider uses as its idempotency key."""

    async def authorize(self, token: str, amount: int, currency: str,
                        reference: str) -> ProviderResult:
        """Hold ``amount``: approved with the provider's reference, or declined (why)."""
        ...

    async def capture(self, provider_reference: str, amount: int) -> ProviderResult:
        """Take ``amount`` of the authorization ``provider_reference``."""
        ...

    async def void(self, provider_reference: str) -> ProviderResult:
        """Release the authorization ``provider_reference``."""
        ...

    async def refund(self, provider_reference: str, amount: int) -> ProviderResult:
        """Give back ``amount`` of the captured ``provider_reference``."""
        ...

    async def lookup(self, reference: str) -> ProviderRecord | None:
        """What the provider holds for our ``reference`` (None: nothing), to settle a
        call whose answer never came (doubts.py)."""
        ...


class DoubtRepository(Protocol):
    """Payments whose last provider call has an unknown outcome (doubts.py), one row per
    payment: ``payment_id``, ``action`` (the call in doubt), ``opened_at`` and, once
    settled, ``settled_at`` and ``outcome``. Each write is a unit of work of its own."""

    async def doubt(self, payment_id: str, action: str, at: str) -> None:
        """Open (or open again, from ``at``) the payment's doubt."""
        ...

    async def due(self, opened_before: str, limit: int) -> list[Row]:
        """Open doubts opened before ``opened_before``, oldest first."""
        ...

    async def settle(self, payment_id: str, opened_at: str, outcome: str, at: str) -> bool:
        """Close the doubt if it is still the one opened at ``opened_at`` (a call that
        timed out since opened it again); whether it was closed."""
        ...

    async def postpone(self, payment_id: str, opened_at: str, to: str) -> bool:
        """Move a doubt that must wait to the back of the queue (``opened_at`` becomes
        ``to``) if it is still the open one opened at ``opened_at``; whether it moved."""
        ...

    async def all(self) -> list[Row]:
        """Every doubt, open or settled, oldest first (for ``facts``)."""
        ...
