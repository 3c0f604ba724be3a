"""Fakes implementing the same ports as the orders service's HTTP adapters; fake
participant services to put behind the real adapter; what an outbox holds, SQL or in
memory; and a timeline of the participants' calls and the published events in the order
they happened."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable

from mercato.chassis import Reply, Unavailable
from mercato.chassis.messaging import Outbox
from mercato.contracts.envelope import Envelope
from mercato.services.orders.domain.answers import OK, Result
from mercato.services.orders.domain.order import Order
from tests.support.memory.outbox import MemoryOutbox
from tests.support.outbox import outbox_envelopes

ACTIONS = ("reserve_stock", "authorize_payment", "schedule_shipment", "capture_payment",
           "confirm_order", "release_stock", "void_payment", "cancel_shipment",
           "refund_payment", "return_stock")


async def envelopes(outbox: Outbox) -> list[Envelope]:
    """Every envelope committed to ``outbox`` (a ``MemoryOutbox`` or the SQL one), in order."""
    if isinstance(outbox, MemoryOutbox):
        return outbox.envelopes
    return await outbox_envelopes(outbox.db)


class Timeline:
    """Participant calls and the types of committed events, interleaved as they
    happened: before each call, the events committed since the last look are added."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.entries: list[str] = []
        self._seen = 0

    async def _catch_up(self) -> None:
        committed = await envelopes(self.outbox)
        self.entries.extend(e.type for e in committed[self._seen:])
        self._seen = len(committed)

    async def call(self, action: str) -> None:
        await self._catch_up()
        self.entries.append(action)

    async def all(self) -> list[str]:
        await self._catch_up()
        return list(self.entries)


class FakeParticipants:
    """The Participants port, method by method (a change of the port breaks this fake and
    the test that compares their signatures). Answers OK unless a result is scripted for
    an action; records every call. A refund answers ``refunded`` when a capture was
    answered OK before (as the payments service would)."""

    def __init__(self, timeline: Timeline | None = None) -> None:
        self.script: dict[str, deque[Result]] = defaultdict(deque)
        self.calls: list[str] = []
        self.hooks: dict[str, Callable[[], Awaitable[object]]] = {}
        self.timeline = timeline
        self.captured = False

    def answer(self, action: str, *results: Result) -> None:
        if action not in ACTIONS:
            raise ValueError(f"no participant action {action}")
        self.script[action].extend(results)

    async def _act(self, action: str, default: Result = OK) -> Result:
        self.calls.append(action)
        if self.timeline is not None:
            await self.timeline.call(action)
        hook = self.hooks.get(action)
        if hook:
            await hook()
        queue = self.script[action]
        return queue.popleft() if queue else default

    async def reserve_stock(self, order: Order) -> Result:
        return await self._act("reserve_stock")

    async def authorize_payment(self, order: Order, card_token: str) -> Result:
        return await self._act("authorize_payment")

    async def schedule_shipment(self, order: Order) -> Result:
        return await self._act("schedule_shipment")

    async def capture_payment(self, order: Order) -> Result:
        result = await self._act("capture_payment")
        self.captured = self.captured or result.ok
        return result

    async def confirm_order(self, order: Order) -> Result:
        return await self._act("confirm_order")

    async def release_stock(self, order: Order) -> Result:
        return await self._act("release_stock")

    async def void_payment(self, order: Order) -> Result:
        return await self._act("void_payment")

    async def cancel_shipment(self, order: Order) -> Result:
        return await self._act("cancel_shipment")

    async def refund_payment(self, order: Order) -> Result:
        return await self._act("refund_payment", Result("ok", refunded=self.captured))

    async def return_stock(self, order: Order) -> Result:
        return await self._act("return_stock")


class FakeCatalog:
    def __init__(self, products: dict[str, dict]) -> None:
        self.products = products

    async def lookup(self, product_ids: list[str]) -> dict[str, dict]:
        return {p: self.products[p] for p in product_ids if p in self.products}


class FakeCart:
    def __init__(self) -> None:
        self.carts: dict[str, list[dict]] = {}

    async def items(self, user_id: str) -> list[dict]:
        return list(self.carts.get(user_id, []))


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the runner catches it."""


# action -> (statuses it moves from, the status it leads to); None: the thing is unknown
MOVES = {
    "reserve": ((None,), "reserved"), "commit": (("reserved",), "committed"),
    "release": ((None, "reserved", "expired"), "released"), "return": (("committed",), "returned"),
    "authorize": ((None,), "authorized"), "capture": (("authorized",), "captured"),
    "void": ((None, "authorized", "failed"), "voided"), "refund": (("captured",), "refunded"),
    "schedule": ((None,), "scheduled"), "cancel": ((None, "scheduled"), "cancelled"),
}
CREATES = {"reserve", "authorize", "schedule"}


class FakeServices:
    """Inventory, payments and shipping in memory, answering the orders adapter's calls
    (a ServiceClient) with the statuses and problem types the real services use: repeats
    are idempotent, an undo of something unknown leaves a tombstone that a late create
    meets as ``already-cancelled``, a refused payment move names the payment's status.

    ``fault(action, *modes)`` scripts the next calls of an action (``reserve``,
    ``capture``, ``void``...): ``down`` (no answer, nothing done), ``error`` (503),
    ``lost`` (done, but the answer is lost: a timeout), ``late`` (no answer now; the
    request lands at ``deliver_late()``), ``decline`` (402), ``kill`` (raises Killed).
    ``before[action]`` runs once before the next call of the action is handled. ``state``
    maps "payment/<id>" (and reservation/, shipment/) to a status; ``changes`` lists
    every change in order."""

    def __init__(self) -> None:
        self.state: dict[str, str] = {}
        self.changes: list[str] = []
        self.calls: list[str] = []
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.pending: list[tuple[str, str]] = []
        self.before: dict[str, Callable[[], object]] = {}

    def fault(self, action: str, *modes: str) -> None:
        self.faults[action].extend(modes)

    async def call(self, service: str, method: str, path: str, *, json_body=None,
                   **_kwargs) -> Reply:
        key, action = _route(path, json_body or {})
        self.calls.append(action)
        if hook := self.before.pop(action, None):
            hook()
        mode = self.faults[action].popleft() if self.faults[action] else None
        if mode == "kill":
            raise Killed(f"killed at {action}")
        if mode in ("down", "late"):
            if mode == "late":
                self.pending.append((key, action))
            raise Unavailable(service, "timed out")
        if mode == "error":
            return _reply(503, {"detail": "unavailable"})
        if mode == "decline":
            self._set(key, "failed")
            return _reply(402, {"detail": "card declined"})
        status, body = self._act(key, action)
        if mode == "lost":
            raise Unavailable(service, "timed out after sending")
        return _reply(status, body)

    def deliver_late(self) -> None:
        """The requests that were held back land now (their answers go nowhere)."""
        for key, action in self.pending:
            self._act(key, action)
        self.pending.clear()

    def _act(self, key: str, action: str) -> tuple[int, dict]:
        now, (sources, target) = self.state.get(key), MOVES[action]
        if now == target:
            return 200, {"status": now}
        if now in sources:
            self._set(key, target)
            return (201 if action in CREATES else 200), {"status": target}
        if now is None:
            return 404, {"detail": f"{key} was not found"}
        if action in CREATES:
            return 409, _problem("already-cancelled")
        kind = {("release", "committed"): "already-committed",
                ("commit", "expired"): "reservation-expired"}.get((action, now),
                                                                  "invalid-transition")
        extra = {"payment_status": now} if key.startswith("payment/") else {}
        return 409, {**_problem(kind), **extra}

    def _set(self, key: str, status: str) -> None:
        self.state[key] = status
        self.changes.append(f"{key.split('/')[0]} {status}")


def _route(path: str, body: dict) -> tuple[str, str]:
    parts = path.strip("/").split("/")  # internal, collection, [id | authorize], [verb]
    kind = {"reservations": "reservation", "payments": "payment",
            "shipments": "shipment"}[parts[1]]
    if len(parts) == 4:
        return f"{kind}/{parts[2]}", parts[3]
    if parts[-1] == "authorize":
        return f"payment/{body['payment_id']}", "authorize"
    action = {"reservation": "reserve", "shipment": "schedule"}[kind]
    return f"{kind}/{body[kind + '_id']}", action


def _problem(kind: str) -> dict:
    return {"type": f"https://mercato.dev/problems/{kind}", "detail": kind}


def _reply(status: int, body: dict) -> Reply:
    return Reply(status, json.dumps(body).encode(), {})
