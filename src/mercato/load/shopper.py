"""One shopper session over HTTP, through the gateway's public API (docs/api.md).

``Api`` sends one request on the run's single ``aiohttp.ClientSession`` and reports it to
``Stats`` (latency, and the error kind when the answer is not the one expected).
``run_session`` plays a ``SessionPlan``: browse, search, view, fill the cart, check out,
maybe cancel, then follow the order until it is terminal or ``follow_timeout`` passes
(counted "pending"). A step that fails ends the session ("failed"); the error is counted.
The time from the POST to the terminal state is as fine as the reads: the first comes
0.2 s after the POST, so a checkout that takes 20 ms is seen at about 0.2 s.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from mercato.load.plan import SessionPlan
from mercato.load.stats import PLACE, Stats

ADDRESS = {"name": "Load Shopper", "line1": "1 Load St", "city": "Loadtown",
           "postal_code": "L1", "country": "GB"}
POLL_FIRST, POLL_MAX = 0.2, 0.5  # seconds between reads of a pending order


class StepFailed(Exception):
    """A request of a session did not get its expected answer (already counted)."""


@dataclass
class Customer:
    email: str
    password: str
    token: str = ""
    issued: float = 0.0  # monotonic time of the token


class Api:
    """The public API as the shopper uses it; every call counted in ``stats``."""

    def __init__(self, http: aiohttp.ClientSession, stats: Stats,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.http, self.stats, self.clock = http, stats, clock

    async def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200,),
                   name: str | None = None, token: str = "", allowed: tuple[int, ...] = (),
                   **kwargs) -> tuple[int, dict]:
        """Send one request; (status, JSON body or {}). An answer outside ``expect`` and
        ``allowed``, or an exception, is counted and raised as ``StepFailed``."""
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        name = name or f"{method} {path}"
        start = self.clock()
        try:
            async with self.http.request(method, path, headers=headers, **kwargs) as resp:
                status = resp.status
                body = await resp.json(content_type=None) if resp.status != 204 else None
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            self.stats.request(name, self.clock() - start, exc=exc, ok=False)
            raise StepFailed(type(exc).__name__) from None
        ok = status in expect
        self.stats.request(name, self.clock() - start, status=status,
                           ok=ok or status in allowed)
        if not ok and status not in allowed:
            raise StepFailed(f"{name} answered {status}")
        return status, body if isinstance(body, dict) else {}

    async def login(self, customer: Customer) -> str:
        _, body = await self.call("POST", "/api/v1/identity/token", json={
            "email": customer.email, "password": customer.password})
        customer.token, customer.issued = body["access_token"], self.clock()
        return customer.token

    async def register(self, email: str, password: str) -> Customer:
        """Register and log in; a 409 counts as registered (an earlier attempt whose
        answer was lost, e.g. a 503 from the gateway's deadline, did register)."""
        await self.call("POST", "/api/v1/identity/users", expect=(201, 409),
                        json={"email": email, "password": password, "name": "Load Shopper"})
        customer = Customer(email, password)
        await self.login(customer)
        return customer


TOKEN_REUSE = 600.0  # seconds; access tokens live 900


async def run_session(api: Api, plan: SessionPlan, customer: Customer, *,
                      follow_timeout: float = 30.0, sleep=asyncio.sleep) -> None:
    """Play ``plan`` as ``customer``; raises ``StepFailed`` when a step fails."""
    stats, clock = api.stats, api.clock
    if clock() - customer.issued > TOKEN_REUSE:
        await api.login(customer)
    token = customer.token
    products = "/api/v1/catalog/products"
    browse = {"limit": "20"} | ({"category": plan.category} if plan.category else {})
    await api.call("GET", products, name=f"GET {products}", params=browse)
    if plan.search:
        await api.call("GET", products, name=f"GET {products}?q", params={"q": plan.search})
    await api.call("GET", f"{products}/{plan.view}", name=f"GET {products}/{{id}}")
    if plan.from_cart:  # start clean: a cart left by an earlier, unconfirmed order
        await api.call("DELETE", "/api/v1/cart", expect=(204,), token=token)
    for product_id, quantity in plan.lines:
        await api.call("PUT", f"/api/v1/cart/items/{product_id}", token=token,
                       name="PUT /api/v1/cart/items/{id}", json={"quantity": quantity})
    body: dict = {"shipping_address": dict(ADDRESS), "payment": {"card_token": plan.card}}
    if plan.from_cart:
        body["from_cart"] = True
    else:
        body["items"] = [{"product_id": p, "quantity": q} for p, q in plan.lines]
    sent = clock()
    _, order = await api.call("POST", "/api/v1/orders", expect=(202,), name=PLACE,
                              token=token, json=body,
                              headers={"Idempotency-Key": uuid.uuid4().hex})
    stats.placed += 1
    order_path = f"/api/v1/orders/{order['id']}"
    if plan.cancel:
        status, _ = await api.call("POST", f"{order_path}/cancel", expect=(202,),
                                   allowed=(409,), token=token,
                                   name="POST /api/v1/orders/{id}/cancel")
        if status == 409:
            stats.cancel_refused += 1
    await follow(api, order_path, token, sent, follow_timeout, sleep)


async def follow(api: Api, order_path: str, token: str, sent: float, timeout: float,
                 sleep=asyncio.sleep) -> None:
    """Read the order until it is terminal (counted with its time since ``sent``) or
    ``timeout`` has passed since then (counted pending). Reads back off from 0.2 s to
    0.5 s; a 503 or 429 read is counted and retried after the same pause."""
    interval = POLL_FIRST
    while True:
        try:
            _, order = await api.call("GET", order_path, token=token,
                                      name="GET /api/v1/orders/{id}")
        except StepFailed:
            order = {"status": "pending"}
        if order.get("status", "pending") != "pending":
            ended = api.clock()
            api.stats.order_ended(order["status"], order.get("reason"), ended - sent)
            api.stats.followed(sent, ended)
            return
        if api.clock() - sent + interval > timeout:
            api.stats.pending += 1
            api.stats.followed(sent, None)
            return
        await sleep(interval)
        interval = min(POLL_MAX, interval * 1.5)
