"""The units one customer may hold of one product in a day (orders/domain/limits.py): the
rule alone, on given holdings and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mercato.services.orders.domain.events import Line
from mercato.services.orders.domain.limits import Held, UnitsLimit, UnitsLimitExceeded

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def hours_ago(h: float) -> datetime:
    return NOW - timedelta(hours=h)


def line(product: str, quantity: int) -> Line:
    return Line(product, quantity, 100, product)


def test_an_order_up_to_the_limit_is_taken():
    held = [Held("mug", 12, hours_ago(3)), Held("mug", 5, hours_ago(1))]
    UnitsLimit(20).check([line("mug", 3)], held, NOW)  # 17 + 3 = 20


def test_one_unit_past_the_limit_is_refused_naming_the_product_and_what_is_left():
    held = [Held("mug", 12, hours_ago(3)), Held("mug", 5, hours_ago(1))]
    with pytest.raises(UnitsLimitExceeded) as refused:
        UnitsLimit(20).check([line("mug", 4)], held, NOW)
    e = refused.value
    assert (e.product_id, e.limit, e.held, e.requested, e.available) == ("mug", 20, 17, 4, 3)
    assert "at most 20 units of product mug" in str(e) and "3 more can be ordered now" in str(e)


def test_it_frees_up_when_enough_of_the_oldest_orders_leave_the_window():
    held = [Held("mug", 5, hours_ago(1)), Held("mug", 12, hours_ago(3)),
            Held("mug", 2, hours_ago(2))]
    with pytest.raises(UnitsLimitExceeded) as refused:
        UnitsLimit(20).check([line("mug", 10)], held, NOW)
    # 19 held: the 12 placed 3 h ago must go (leaving 7 + 10 <= 20), in 21 hours
    assert refused.value.frees_at == hours_ago(3) + timedelta(hours=24)
    with pytest.raises(UnitsLimitExceeded) as refused:
        UnitsLimit(20).check([line("mug", 19)], held, NOW)
    # 19 more leaves room for 1 held unit: all three must go, the last placed 1 h ago
    assert refused.value.frees_at == hours_ago(1) + timedelta(hours=24)
    with pytest.raises(UnitsLimitExceeded) as refused:
        UnitsLimit(20).check([line("mug", 14)], held, NOW)
    # 14 more leaves room for 6: the 12 (3 h ago) and then the 2 (2 h ago) must go
    assert refused.value.frees_at == hours_ago(2) + timedelta(hours=24)


def test_the_same_product_on_several_lines_is_summed():
    with pytest.raises(UnitsLimitExceeded) as refused:
        UnitsLimit(5).check([line("mug", 3), line("hat", 9), line("mug", 3)], [], NOW)
    assert (refused.value.product_id, refused.value.requested) == ("mug", 6)


def test_an_order_alone_past_the_limit_has_nothing_to_wait_for():
    with pytest.raises(UnitsLimitExceeded) as refused:
        UnitsLimit(5).check([line("mug", 6)], [], NOW)
    assert refused.value.frees_at is None
    assert "this order alone asks for 6" in str(refused.value)


def test_orders_older_than_a_day_and_other_products_do_not_count():
    held = [Held("mug", 20, hours_ago(24)), Held("mug", 20, hours_ago(30)),
            Held("hat", 20, hours_ago(1))]
    UnitsLimit(20).check([line("mug", 20)], held, NOW)


def test_the_first_product_over_its_limit_in_line_order_is_named():
    held = [Held("hat", 5, hours_ago(1)), Held("mug", 5, hours_ago(1))]
    with pytest.raises(UnitsLimitExceeded) as refused:
        UnitsLimit(5).check([line("mug", 1), line("hat", 1)], held, NOW)
    assert refused.value.product_id == "mug"


def test_a_limit_of_zero_is_no_limit():
    assert not UnitsLimit(0).active
    UnitsLimit(0).check([line("mug", 10_000)], [Held("mug", 10_000, hours_ago(1))], NOW)


def test_the_window_counts_back_from_now():
    assert UnitsLimit(20).since(NOW) == hours_ago(24)
    assert UnitsLimit(20, window=timedelta(hours=1)).since(NOW) == hours_ago(1)
