"""What orders' handlers and checkout need from the world, as Protocols: their repository
(orders as their events, sagas, idempotency keys, units held), the catalog and the cart the
handlers read an order from, and the saga's participants (inventory, payments, shipping)
and the commands that reach them over one transport. The adapters (adapters/store.py,
adapters/clients.py, adapters/participants.py, adapters/http_commands.py,
adapters/grpc_commands.py) implement them; the tests run the handlers and the runner on
fakes of the same Protocols (tests/support/memory/orders.py, tests/unit/orders/fakes.py),
and the repository's contract tests hold every implementation to the same behaviour."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mercato.chassis.data import Connection, Database
from mercato.services.orders.domain.answers import Answer, Result
from mercato.services.orders.domain.events import Line, Recorded
from mercato.services.orders.domain.limits import Held
from mercato.services.orders.domain.order import Order
from mercato.services.orders.domain.saga import CheckoutSaga


class ConcurrencyError(Exception):
    """Another writer appended to this order since its state was read."""


class SagaConflict(ConcurrencyError):
    """Another runner (a second orders replica) saved this saga since it was read."""


class OrderRepository(Protocol):
    """Orders (as their events), their sagas, idempotency keys and the units each order
    holds. Writes take the caller's transaction (``tx``), opened on ``db``: an order's
    events, its saga and what is published of it commit together. A second row under a
    key already taken (a saga, a key, an order's units) is the chassis's ``Conflict``."""

    db: Database  # the transactions the handlers and the runner open

    async def append(self, tx: Connection, records: list[Recorded],
                     expected_version: int) -> None:
        """Store an order's new events, numbered on from ``expected_version``;
        ``ConcurrencyError`` if one of their versions is taken (it changed meanwhile)."""
        ...

    async def get_order(self, order_id: str, tx: Connection | None = None) -> Order | None:
        """The order as its stored events describe it (None if it has none)."""
        ...

    async def insert_saga(self, tx: Connection, saga: CheckoutSaga, at: str, *,
                          mode: str = "orchestration", customer_id: str | None = None) -> None:
        """Store a new order's saga, with the trace context it is placed in."""
        ...

    async def save_saga(self, tx: Connection, saga: CheckoutSaga, at: str) -> int:
        """Save the saga's progress (not its ``cancel_requested``) if it is still at
        ``saga.version`` and return its new version; ``SagaConflict`` otherwise."""
        ...

    async def get_saga(self, order_id: str, tx: Connection | None = None
                       ) -> CheckoutSaga | None:
        """The order's saga as last saved (None if it has none)."""
        ...

    async def request_cancel(self, order_id: str, tx: Connection | None = None) -> None:
        """Mark the saga cancel-requested and bump its version (in its own transaction
        without ``tx``), so a runner holding it loses its next save and reads it again."""
        ...

    async def unfinished_sagas(self, mode: str | None = None) -> list[str]:
        """Order ids whose saga still has work (of one ``mode`` if given)."""
        ...

    async def saga_traceparents(self, order_ids: list[str]) -> dict[str, str]:
        """The trace context each of these sagas was placed in (those that have one)."""
        ...

    async def checkouts_in_progress(self, up_to: int, customer_id: str,
                                    up_to_theirs: int) -> tuple[int, int]:
        """Sagas going forward or compensating: all, counted up to ``up_to``, and
        ``customer_id``'s, up to ``up_to_theirs``."""
        ...

    async def hold_units(self, tx: Connection, order_id: str, customer_id: str,
                         lines: list[Line], placed_at: datetime) -> None:
        """Record the units a new order holds, per product (its lines summed)."""
        ...

    async def units_held(self, tx: Connection, customer_id: str, product_ids: list[str],
                         since: datetime) -> list[Held]:
        """The units of ``product_ids`` the customer's orders placed after ``since`` hold,
        but for cancelled ones (their saga's phase), in no particular order."""
        ...

    async def forget_sealed_card(self, tx: Connection, order_id: str) -> None:
        """Empty the sealed card token in the order's OrderPlaced waiting in the outbox."""
        ...

    async def find_key(self, tx: Connection, customer_id: str, key: str) -> dict | None:
        """The customer's idempotency key: its ``request_hash`` and ``order_id``, or None."""
        ...

    async def remember_key(self, tx: Connection, customer_id: str, key: str,
                           request_hash: str, order_id: str, at: str) -> None:
        """Remember the key for the request (its hash) and the order it placed."""
        ...

    async def facts(self) -> dict:
        """What ``mercato verify`` reads: every order (by id) with its saga's phase, the
        pending ones counted, and the sagas with work left."""
        ...


class CatalogPort(Protocol):
    """The catalog's products an order is priced from."""

    async def lookup(self, product_ids: list[str]) -> dict[str, dict]: ...


class CartPort(Protocol):
    """The lines of a customer's cart, for an order placed from it."""

    async def items(self, user_id: str) -> list[dict]: ...


class Participants(Protocol):
    """The saga's steps and their undoing, each answered as the domain reads it."""

    async def reserve_stock(self, order: Order) -> Result: ...
    async def authorize_payment(self, order: Order, card_token: str) -> Result: ...
    async def schedule_shipment(self, order: Order) -> Result: ...
    async def capture_payment(self, order: Order) -> Result: ...
    async def confirm_order(self, order: Order) -> Result: ...
    async def release_stock(self, order: Order) -> Result: ...
    async def void_payment(self, order: Order) -> Result: ...
    async def cancel_shipment(self, order: Order) -> Result: ...
    async def refund_payment(self, order: Order) -> Result: ...
    async def return_stock(self, order: Order) -> Result: ...


class Commands(Protocol):
    """The participants' commands over one transport: each returns the participant's
    ``Answer``, or the ``unreachable`` ``Result`` when no answer came."""

    async def reserve(self, order: Order) -> Answer | Result: ...
    async def authorize(self, order: Order, card_token: str) -> Answer | Result: ...
    async def schedule(self, order: Order) -> Answer | Result: ...
    async def capture(self, order: Order) -> Answer | Result: ...
    async def commit(self, order: Order) -> Answer | Result: ...
    async def release(self, order: Order) -> Answer | Result: ...
    async def void(self, order: Order) -> Answer | Result: ...
    async def cancel_shipment(self, order: Order) -> Answer | Result: ...
    async def refund(self, order: Order) -> Answer | Result: ...
    async def return_goods(self, order: Order) -> Answer | Result: ...


class RefundRequestRepository(Protocol):
    """Delivered orders asked to be refunded, open until the refund is recorded. Writes
    take the caller's transaction; ``open_ones`` reads outside one."""

    async def add(self, tx: Connection, order_id: str, mode: str, at: str) -> bool:
        """Record the request (in saga ``mode``) unless there is one; True if recorded."""
        ...

    async def is_open(self, tx: Connection, order_id: str) -> bool:
        """Whether the order was asked to be refunded and is not yet."""
        ...

    async def close(self, tx: Connection, order_id: str, at: str) -> None:
        """The order is refunded; a closed request stays closed."""
        ...

    async def open_ones(self, mode: str, limit: int) -> list[str]:
        """At most ``limit`` open requests of ``mode``, oldest first."""
        ...
