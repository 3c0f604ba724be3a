"""The loops that start shopper sessions, and the run around them.

Open loop (``--rate``): arrival times are drawn from the seed up front and each session
starts at its intended time whether or not earlier ones finished; its latency is measured
from that intended time, so a slow platform shows as latency instead of silently lowering
the rate (coordinated omission). At most ``max_in_flight`` sessions run; an arrival that
finds the bound reached is dropped and counted. Closed loop (``--users``): each user runs
sessions back to back with ``think`` seconds between. ``open_loop`` takes its clock and
sleep as arguments so it can be tested without time passing.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import aiohttp

from mercato.load.plan import Mix, Planner, Product, SessionPlan, arrivals
from mercato.load.shopper import Api, Customer, StepFailed, run_session
from mercato.load.stats import CUSTOMER_WAIT, SESSION, START_LAG, Stats

CATALOG_PAGES = 10  # pages of 100 products read at most
DRAIN_GRACE = 15.0  # seconds past the follow timeout the last sessions get to finish
MIN_CUSTOMERS = 20
UNITS_PER_PRODUCT = 5.0  # a customer's expected units of one product in a run (limit: 20)
SETUP_ATTEMPTS = 3  # tries to register each of the run's customers


class NoPlatform(Exception):
    """The gateway cannot be reached, or answers the catalog with an error."""


class NoProducts(Exception):
    """The catalog is empty: there is nothing to shop for."""


class SetupFailed(Exception):
    """No customer could be registered and logged in."""


@dataclass
class LoadConfig:
    url: str
    duration: float = 30.0
    rate: float | None = 5.0  # open loop when set
    users: int | None = None  # closed loop when set
    seed: int = 1
    mix: Mix = field(default_factory=Mix)
    max_in_flight: int = 64
    think: float = 1.0
    customers: int | None = None  # None: ``pool_size()`` picks
    follow_timeout: float = 30.0

    def pool_size(self, products: int) -> int:
        """The customers to register: ``customers`` when given (at least ``users``), else
        enough that each buys about ``UNITS_PER_PRODUCT`` units of a product in the run
        (sessions pick ``products`` alike). A 10-minute run at 5/s shared by 20 customers
        met orders' limit of units per customer and product (20 a day) after ~400 s, and
        every later order of theirs was a 409."""
        if self.customers is not None:
            return max(self.customers, self.users or 0)
        if self.users:  # a closed-loop session takes at least ``think`` plus ~3 s
            expected = self.users * self.duration / (self.think + 3.0)
        else:
            expected = (self.rate or 0.0) * self.duration
        m = self.mix
        units = (1 + min(m.max_lines, max(products, 1))) / 2 * (1 + m.max_quantity) / 2
        per_customer = max(1.0, UNITS_PER_PRODUCT * max(products, 1) / units)
        return max(MIN_CUSTOMERS, self.users or 0, math.ceil(expected / per_customer))


async def open_loop(starts: Iterable[float], launch: Callable[[int, float], Awaitable[None]],
                    *, max_in_flight: int, stats: Stats,
                    clock: Callable[[], float] = time.monotonic, sleep=asyncio.sleep
                    ) -> set[asyncio.Task]:
    """Start ``launch(i, intended)`` at each intended time (seconds after now); an
    arrival with ``max_in_flight`` launches still running is dropped. The tasks still
    running when the last arrival has been handled."""
    t0, tasks = clock(), set()
    for i, at in enumerate(starts):
        delay = t0 + at - clock()
        if delay > 0:
            await sleep(delay)
        if len(tasks) >= max_in_flight:
            stats.sessions["dropped"] += 1
            continue
        task = asyncio.create_task(launch(i, t0 + at))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    return tasks


class CustomerPool:
    """Customers lent to one session at a time, so that a session's cart is its own."""

    def __init__(self, customers: list[Customer]) -> None:
        self.customers, self.idle = customers, set(range(len(customers)))
        self.freed = asyncio.Condition()

    async def take(self, preferred: int) -> int:
        async with self.freed:
            await self.freed.wait_for(lambda: bool(self.idle))
            i = preferred % len(self.customers)
            if i not in self.idle:  # the next idle one after it: collisions spread evenly
                n = len(self.customers)
                i = min(self.idle, key=lambda j: (j - i) % n)
            self.idle.remove(i)
            return i

    async def give(self, i: int) -> None:
        async with self.freed:
            self.idle.add(i)
            self.freed.notify()


class Run:
    """One load run on a gateway: set up, shop, drain. ``stats`` is live while it runs."""

    def __init__(self, config: LoadConfig, clock: Callable[[], float] = time.monotonic):
        self.config, self.clock, self.stats = config, clock, Stats()
        self.started = clock()
        self.products: list[Product] = []
        self.pool: CustomerPool | None = None

    async def session(self, api: Api, plan: SessionPlan, intended: float) -> None:
        stats = self.stats
        stats.sessions["started"] += 1
        stats.in_flight += 1
        stats.sample(START_LAG, max(0.0, self.clock() - intended))
        try:
            waiting = self.clock()
            i = await self.pool.take(plan.customer)
            stats.sample(CUSTOMER_WAIT, self.clock() - waiting)
            try:
                await run_session(api, plan, self.pool.customers[i],
                                  follow_timeout=self.config.follow_timeout)
            finally:
                await self.pool.give(i)
            stats.sessions["completed"] += 1
            stats.sample(SESSION, self.clock() - intended)
        except StepFailed:
            stats.sessions["failed"] += 1
        except (KeyError, TypeError) as exc:  # an answer without the fields of docs/api.md
            stats.sessions["failed"] += 1
            stats.errors[f"bad answer ({type(exc).__name__})"] += 1
        finally:
            stats.in_flight -= 1

    async def execute(self) -> Stats:
        cfg = self.config
        limit = max(cfg.max_in_flight, cfg.users or 0) + 8
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(
                cfg.url, timeout=timeout, connector=aiohttp.TCPConnector(limit=limit)) as http:
            self.products = await read_catalog(http)
            self.pool = CustomerPool(
                await register_customers(http, cfg.pool_size(len(self.products)), self.clock))
            self.started = self.clock()
            api = Api(http, self.stats, self.clock)
            if cfg.users:
                await self.closed(api)
            else:
                await self.open(api)
        return self.stats

    def planner(self, tag: str) -> Planner:
        return Planner(random.Random(f"{self.config.seed}:{tag}"), self.products,
                       len(self.pool.customers), self.config.mix)

    async def open(self, api: Api) -> None:
        cfg = self.config
        starts = arrivals(random.Random(f"{cfg.seed}:arrivals"), cfg.rate, cfg.duration)
        planner = self.planner("sessions")
        plans = [planner.next() for _ in starts]
        tasks = await open_loop(starts, lambda i, at: self.session(api, plans[i], at),
                                max_in_flight=cfg.max_in_flight, stats=self.stats,
                                clock=self.clock)
        await self.drain(tasks)

    async def closed(self, api: Api) -> None:
        cfg = self.config
        deadline = self.started + cfg.duration

        async def user(n: int) -> None:
            planner = self.planner(f"user-{n}")
            while self.clock() < deadline:
                await self.session(api, planner.next(), self.clock())
                await asyncio.sleep(min(cfg.think, max(0.0, deadline - self.clock())))

        tasks = {asyncio.create_task(user(n)) for n in range(cfg.users)}
        await asyncio.wait(tasks, timeout=cfg.duration + cfg.follow_timeout + DRAIN_GRACE)
        await self.drain({t for t in tasks if not t.done()})

    async def drain(self, tasks: set[asyncio.Task]) -> None:
        """Let the sessions still running finish (they are bounded by the follow
        timeout); cancel the ones that do not and count them unfinished."""
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self.config.follow_timeout + DRAIN_GRACE)
        for task in late:
            task.cancel()
        self.stats.sessions["unfinished"] += len(late)
        if late:
            await asyncio.wait(late)


async def read_catalog(http: aiohttp.ClientSession) -> list[Product]:
    """The catalog as it is (a few pages): NoPlatform if it cannot be read, NoProducts
    if it is empty."""
    products, cursor = [], None
    for _ in range(CATALOG_PAGES):
        params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        try:
            async with http.get("/api/v1/catalog/products", params=params) as resp:
                if resp.status != 200:
                    raise NoPlatform(f"GET /api/v1/catalog/products answered {resp.status}")
                page = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise NoPlatform(f"cannot read the catalog: {type(exc).__name__} {exc}") from None
        products += [Product(p["id"], p.get("name", ""), p.get("category", ""))
                     for p in page.get("items", [])]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if not products:
        raise NoProducts("the catalog is empty: nothing to shop for (`mercato up` seeds a "
                         "demo catalog on an empty platform; or add products first)")
    return products


async def register_customers(http: aiohttp.ClientSession, count: int,
                             clock: Callable[[], float], sleep=asyncio.sleep
                             ) -> list[Customer]:
    """Register and log in ``count`` new customers (8 at a time), with emails unique to
    this run, each tried up to ``SETUP_ATTEMPTS`` times (a busy identity service hashing
    passwords may answer 503 past the gateway's deadline); the ones that still fail are
    left out. SetupFailed when none succeeds."""
    run_id, setup = uuid.uuid4().hex[:10], Stats()  # setup requests are not the load's
    api, gate, reasons = Api(http, setup, clock), asyncio.Semaphore(8), []

    async def one(i: int) -> Customer | None:
        async with gate:
            for attempt in range(1, SETUP_ATTEMPTS + 1):
                try:
                    return await api.register(f"load-{run_id}-{i}@example.com",
                                              "load-pass-1")
                except StepFailed as exc:
                    if attempt == SETUP_ATTEMPTS:
                        reasons.append(str(exc))
                        return None
                    await sleep(attempt)
            return None

    customers = [c for c in await asyncio.gather(*(one(i) for i in range(count))) if c]
    if not customers:
        raise SetupFailed(f"no customer could be registered: {reasons[0]}")
    return customers
