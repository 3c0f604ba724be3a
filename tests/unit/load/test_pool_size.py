"""How many customers a load run registers: enough that orders' limit of units per
customer and product a day is not what a long run measures."""

from __future__ import annotations

import random

from mercato.load.plan import Mix, Planner, Product
from mercato.load.runner import MIN_CUSTOMERS, LoadConfig

LIMIT = 20  # orders' max_units_per_customer_per_product_per_day, by default


def config(**kw) -> LoadConfig:
    return LoadConfig(url="http://127.0.0.1:1", **kw)


def test_a_given_pool_is_kept_and_covers_the_users():
    assert config(customers=5).pool_size(16) == 5
    assert config(customers=5, users=9, rate=None).pool_size(16) == 9


def test_a_short_run_uses_the_minimum():
    assert config(rate=5, duration=30).pool_size(16) == MIN_CUSTOMERS


def test_a_long_run_grows_the_pool_and_fewer_products_grow_it_more():
    ten_minutes = config(rate=5, duration=600)
    assert ten_minutes.pool_size(16) > MIN_CUSTOMERS
    assert ten_minutes.pool_size(4) > ten_minutes.pool_size(16)
    assert config(users=10, rate=None, duration=3600).pool_size(16) > 10


def test_no_customer_of_a_ten_minute_run_reaches_the_daily_limit():
    """The plans a 10-minute run at 5/s draws, summed per customer and product, stay under
    the limit with the pool chosen (the run of 2026-12-07 with 20 customers did not)."""
    products = [Product(f"p{i}", f"Product {i}", "things") for i in range(16)]
    cfg = config(rate=5, duration=600)
    for customers, expect_under in ((cfg.pool_size(len(products)), True), (20, False)):
        planner = Planner(random.Random(1), products, customers, Mix())
        held: dict[tuple[int, str], int] = {}
        for _ in range(3000):
            plan = planner.next()
            for product, quantity in plan.lines:
                key = (plan.customer, product)
                held[key] = held.get(key, 0) + quantity
        assert (max(held.values()) < LIMIT) is expect_under, (customers, max(held.values()))
