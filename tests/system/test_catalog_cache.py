"""The cached catalog with two instances (docs/design-issue-16.md §4), each with its own
in-process cache, then both on one Redis (the production profile's cache; under a key
prefix of the module's own, deleted after): a price changed through either is read from
both within a second (each drops its entry when it hears the change), and checkout
prices an order from the store, never from a cache."""

from __future__ import annotations

import sqlite3
import time
import uuid

import httpx
import pytest

from mercato.chassis.identity import load_identity
from mercato.chassis.settings import load_settings
from tests.support.redis_server import REDIS_URL, RedisPrefix
from tests.system.platform import Platform, make_platform

PROMISE = 1.0  # seconds within which every instance serves a changed price


@pytest.fixture(scope="module", params=["in process", "Redis"])
def two_catalogs(request, tmp_path_factory):
    redis = RedisPrefix() if request.param == "Redis" else None
    env = {} if redis is None else {
        "MERCATO_REDIS_URL": REDIS_URL, "MERCATO_CATALOG_CACHE_PREFIX": redis.prefix,
        "MERCATO_RATE_LIMIT_REDIS_PREFIX": redis.prefix + f"rl:{uuid.uuid4().hex[:6]}:"}
    p = make_platform(tmp_path_factory.mktemp("catalog_cache"), **env)
    if redis is None:  # in process, whatever this shell's environment says
        p.env.pop("MERCATO_REDIS_URL", None)
    try:
        p.start(180.0, "--replicas", "catalog=2")
        yield p
        code = p.stop()
        assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"
    finally:
        if redis is not None:
            redis.clean()


class Instances:
    """Both catalog instances, each read at its own address as the gateway reads it."""

    def __init__(self, p: Platform) -> None:
        with p.client(p.admin_token()) as c:
            items = c.get("/api/v1/ops/services").json()["items"]
        self.addresses = sorted(i["address"] for i in items if i["service"] == "catalog")
        assert len(self.addresses) == 2, items
        gateway = load_identity("gateway", load_settings(data_dir=p.data_dir))
        self.http = httpx.Client(timeout=5, headers={
            "Authorization": f"Bearer {gateway.token('catalog')}"})

    def by_id(self, product: dict) -> list[int]:
        """The product's price as each instance answers it by id."""
        found = []
        for address in self.addresses:
            r = self.http.get(f"{address}/api/v1/catalog/products/{product['id']}")
            assert r.status_code == 200, r.text
            found.append(r.json()["price"])
        return found

    def prices(self, product: dict) -> list[int]:
        """The product's price as each instance answers it, by id and on its search page."""
        found = self.by_id(product)
        for address in self.addresses:
            r = self.http.get(f"{address}/api/v1/catalog/products",
                              params={"category": product["category"]})
            assert r.status_code == 200, r.text
            found += [item["price"] for item in r.json()["items"]]
        return found

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def instances(two_catalogs):
    found = Instances(two_catalogs)
    yield found
    found.close()


def behind_the_catalogs_back(p: Platform, product_id: str, price: int) -> None:
    """Change a price in the catalog's database without an event (as if the drop had been
    lost): only a cache that is really there goes on answering the old one."""
    with sqlite3.connect(p.data_dir / "catalog" / "catalog.db", timeout=10) as db:
        db.execute("UPDATE products SET price = ? WHERE id = ?", (price, product_id))


def a_product(p: Platform, price: int) -> dict:
    return p.new_product(stock=10, price=price, category=f"cache-{time.monotonic_ns()}")


def test_a_price_change_is_served_by_both_instances_within_a_second(two_catalogs, instances):
    product = a_product(two_catalogs, 1000)
    assert instances.prices(product) == [1000] * 4  # now cached by both
    behind_the_catalogs_back(two_catalogs, product["id"], 1111)
    # the caches answer, not the store (by id: a page may yet be dropped by the
    # product's ProductCreated, heard after these reads)
    assert instances.by_id(product) == [1000] * 2
    with two_catalogs.client(two_catalogs.admin_token()) as c:
        r = c.patch(f"/api/v1/catalog/products/{product['id']}", json={"price": 1500})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + PROMISE
    seen = instances.prices(product)
    while seen != [1500] * 4 and time.monotonic() < deadline:
        time.sleep(0.02)
        seen = instances.prices(product)
    assert seen == [1500] * 4, f"within {PROMISE}s of the change both instances served {seen}"


def test_an_order_placed_right_after_a_price_change_is_priced_at_the_new_price(
        two_catalogs, instances):
    p = two_catalogs
    product = a_product(p, 2000)
    assert instances.prices(product) == [2000] * 4
    token, _ = p.new_customer()
    with p.client(p.admin_token()) as c:
        r = c.patch(f"/api/v1/catalog/products/{product['id']}", json={"price": 2500})
    assert r.status_code == 200, r.text
    with p.client(token) as c:
        r = c.post("/api/v1/orders", json=p.order_body(product["id"]))
    assert r.status_code == 202, r.text
    assert p.wait_terminal(token, r.json()["id"])["total"] == 2500


def test_checkout_reads_the_store_even_while_both_caches_hold_an_old_price(
        two_catalogs, instances):
    p = two_catalogs
    product = a_product(p, 3000)
    assert instances.prices(product) == [3000] * 4
    behind_the_catalogs_back(p, product["id"], 3300)
    assert instances.by_id(product) == [3000] * 2
    token, _ = p.new_customer()
    with p.client(token) as c:
        r = c.post("/api/v1/orders", json=p.order_body(product["id"]))
    assert r.status_code == 202, r.text
    assert p.wait_terminal(token, r.json()["id"])["total"] == 3300
