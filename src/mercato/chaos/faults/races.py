"""F10: last-unit races — many buyers for one or two units, with an inventory instance
SIGKILLed in the middle.

A product of its own is made through the admin API with a stock of 1 or 2; ``BUYERS``
new customers (the load's ``register_customers``) each order one unit at once with the
card that pays (``tok_ok``), and while those POSTs are in flight an inventory instance is
killed (as F1 kills). A POST that fails is sent again with its Idempotency-Key, so every
order placed is known. The heal waits for inventory to run again. Promise, checked after
quiescence for every window: no order of the product pending, no more confirmed than its
stock, the others cancelled with a reason, and inventory's figures agree (sold = the
confirmed orders, nothing reserved, available = the rest).
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import aiohttp

from mercato.chaos.faults.base import Check, Fault, Target, until
from mercato.chaos.faults.kills import KillService
from mercato.chassis.settings import load_settings
from mercato.load.runner import SetupFailed, register_customers
from mercato.load.shopper import ADDRESS, TOKEN_REUSE, Api, Customer
from mercato.load.stats import CONFIRMED, Stats

READY_WAIT = 40.0  # seconds inventory may take to answer again (it restarts slowly
# on a busy machine)
REGISTER_WAIT = 15.0  # seconds a window may spend registering its buyers...
ROUND = 2  # ...this many at once: each costs an argon2 hash and check, and a busy
# identity answering past the gateway's timeout opens its breaker for everyone
POST_TRIES = 3  # a POST that fails is sent again (same Idempotency-Key) this many times


@dataclass
class Race:
    """One window's race: the product, its stock, and every order placed (id -> the
    token of its buyer); POSTs that never got an answer are counted apart."""
    product: str
    stock: int
    orders: dict[str, str] = field(default_factory=dict)
    unplaced: int = 0


class LastUnitRace(Fault):
    """F10: ``BUYERS`` customers order the last unit or two at once; inventory killed."""
    id, what, lengths = "F10", "last-unit race with inventory killed", (4.0, 6.0)
    BUYERS: ClassVar[int] = 20
    races: ClassVar[dict[Path, list[Race]]] = {}  # every window's race, per platform
    buyers: ClassVar[dict[Path, list[Customer]]] = {}  # registered once per platform
    # (seconds of password hashing), topped up by a later window if some timed out

    async def inject(self, target: Target) -> str:
        stock = target.rng.choice((1, 2))
        async with _session(target) as http:
            clock = asyncio.get_running_loop().time
            buyers = self.buyers.setdefault(target.data_dir, [])
            await _register(http, buyers, self.BUYERS, clock)  # kept for the next windows
            if len(buyers) <= stock:
                raise RuntimeError(f"{len(buyers)} buyers registered: no race for {stock}")
            api = Api(http, Stats(), clock)  # the race's own requests are not the load's
            await asyncio.gather(*(api.login(c) for c in buyers
                                   if clock() - c.issued > TOKEN_REUSE))
            race = Race(await _product(http, target.data_dir, stock), stock)
            self.product = race.product
            self.races.setdefault(target.data_dir, []).append(race)
            posts = [asyncio.create_task(_place(http, race, c)) for c in buyers]
            await asyncio.sleep(target.rng.uniform(0.02, 0.3))  # some sent, some not
            self.killed = await _kill_inventory(target)
            await asyncio.gather(*posts)
        return (f"{len(race.orders)} orders for {stock} unit(s) of {race.product[:8]}, "
                f"{race.unplaced} POSTs unanswered; killed {self.killed.name} pid "
                f"{self.killed.pid}")

    async def heal(self, target: Target) -> str:
        """The killed instance running again, and inventory answering for the product."""
        restarted = await self.killed.heal(target)
        async with _session(target) as http:
            path = f"/api/v1/inventory/stock/{self.product}"
            auth = await _admin(http, target.data_dir)
            ready = await until(lambda: _answers(http, path, auth), READY_WAIT)
        return restarted + ("" if ready else f"; inventory not ready {READY_WAIT:g}s later")

    async def checks(self, target: Target) -> list[Check]:
        """Per race: its orders' ends and the product's stock, as the API answers them."""
        bad: list[str] = []
        races = self.races.get(target.data_dir, [])
        async with _session(target) as http:
            for race in races:
                bad += await _judge(http, target.data_dir, race)
        orders = sum(len(r.orders) for r in races)
        return [Check("last unit never oversold, every racer ended (F10)",
                      bool(orders) and not bad,
                      f"{len(races)} races, {orders} orders, {len(bad)} violations",
                      count=len(bad), violations=bad[:20], inv="INV-stock")]


def judge(race: Race, ends: dict[str, dict], stock: dict) -> list[str]:
    """What is wrong with one race once every order should have ended: ``ends`` is each
    order's last reading (id -> its JSON), ``stock`` the product's stock (on_hand,
    available, reserved, sold)."""
    bad, confirmed = [], 0
    for order_id in race.orders:
        end = ends.get(order_id, {})
        status = end.get("status", "unread")
        if status in CONFIRMED:
            confirmed += 1
        elif status != "cancelled" or not end.get("reason"):
            bad.append(f"order {order_id} of the race for {race.product} is {status} "
                       f"(reason {end.get('reason')!r})")
    if confirmed > race.stock:
        bad.append(f"{confirmed} orders confirmed for {race.stock} unit(s) of {race.product}")
    expected = {"on_hand": race.stock, "sold": confirmed, "reserved": 0,
                "available": race.stock - confirmed}
    if any(stock.get(k) != v for k, v in expected.items()):
        bad.append(f"stock of {race.product} is {stock}, expected {expected}")
    return bad


def _session(target: Target) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(target.url, timeout=aiohttp.ClientTimeout(total=20))


async def _admin(http: aiohttp.ClientSession, data_dir: Path) -> dict[str, str]:
    settings = load_settings(data_dir=data_dir, service_key_file=None,
                             service_jwks_file=None, nats_nkey_file=None)
    creds = {"email": settings.admin_email, "password": settings.admin_password}
    async with http.post("/api/v1/identity/token", json=creds) as r:
        token = (await _expect(r, 200))["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def _product(http: aiohttp.ClientSession, data_dir: Path, stock: int) -> str:
    """A new product with ``stock`` units; its id."""
    auth, sku = await _admin(http, data_dir), f"RACE-{uuid.uuid4().hex[:10]}"
    body = {"sku": sku, "name": f"Last unit {sku}", "description": "raced for (F10)",
            "category": "chaos-race", "price": 900, "currency": "USD"}
    async with http.post("/api/v1/catalog/products", json=body, headers=auth) as r:
        product = (await _expect(r, 201))["id"]
    path, key = f"/api/v1/inventory/stock/{product}/adjustments", uuid.uuid4().hex
    body = {"delta": stock, "reason": "last-unit race"}

    async def stocked() -> bool:  # inventory may still be restarting (F1, or our kill)
        async with http.post(path, json=body, headers=auth | {"Idempotency-Key": key}) as r:
            return r.status == 200
    if not await until(stocked, READY_WAIT, every=0.5):
        raise RuntimeError(f"inventory refused the stock of {product} for {READY_WAIT:g}s")
    return product


async def _answers(http: aiohttp.ClientSession, path: str, auth: dict[str, str]) -> bool:
    async with http.get(path, headers=auth) as r:
        return r.status == 200


async def _place(http: aiohttp.ClientSession, race: Race, buyer: Customer) -> None:
    """One buyer's order of one unit; sent again with the same key if it fails."""
    body = {"items": [{"product_id": race.product, "quantity": 1}],
            "shipping_address": dict(ADDRESS), "payment": {"card_token": "tok_ok"}}
    headers = {"Authorization": f"Bearer {buyer.token}", "Idempotency-Key": uuid.uuid4().hex}
    for attempt in range(POST_TRIES):
        try:
            async with http.post("/api/v1/orders", json=body, headers=headers) as r:
                if r.status == 202:
                    race.orders[(await r.json())["id"]] = buyer.token
                    return
        except (TimeoutError, aiohttp.ClientError):
            pass
        await asyncio.sleep(0.5 * (attempt + 1))
    race.unplaced += 1


async def _register(http: aiohttp.ClientSession, buyers: list[Customer], count: int,
                    clock) -> None:
    """Fill ``buyers`` up to ``count`` new customers, for at most ``REGISTER_WAIT``
    seconds: identity hashes passwords, and on a busy machine some registrations time out
    at the gateway (those are asked again with other emails at the next round or window),
    so a window races with whom it has rather than hold up the schedule."""
    deadline = clock() + REGISTER_WAIT
    while len(buyers) < count and clock() < deadline:
        try:
            buyers += await register_customers(http, min(ROUND, count - len(buyers)), clock)
        except SetupFailed:
            await asyncio.sleep(1.0)


async def _kill_inventory(target: Target) -> KillService:
    """SIGKILL one running inventory instance; a ``KillService`` whose heal waits for it."""
    rows = [r for r in await target.control("list")
            if r["service"] == "inventory" and r.get("running") and r.get("pid")]
    if not rows:
        raise RuntimeError("no running inventory instance")
    victim, kill = target.rng.choice(sorted(rows, key=lambda r: r["name"])), KillService()
    kill.name, kill.pid = victim["name"], victim["pid"]
    os.kill(kill.pid, signal.SIGKILL)
    return kill


async def _judge(http: aiohttp.ClientSession, data_dir: Path, race: Race) -> list[str]:
    ends = {}
    for order_id, token in race.orders.items():
        async with http.get(f"/api/v1/orders/{order_id}",
                            headers={"Authorization": f"Bearer {token}"}) as r:
            ends[order_id] = await r.json() if r.status == 200 else {"status": r.status}
    async with http.get(f"/api/v1/inventory/stock/{race.product}",
                        headers=await _admin(http, data_dir)) as r:
        stock = await r.json() if r.status == 200 else {"status": r.status}
    return judge(race, ends, stock)


async def _expect(resp: aiohttp.ClientResponse, status: int) -> dict:
    if resp.status != status:
        raise RuntimeError(f"{resp.method} {resp.url.path} answered {resp.status}: "
                           f"{(await resp.text())[:200]}")
    return await resp.json()
