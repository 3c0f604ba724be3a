"""Inventory as the saga's participant, the same scenarios over HTTP and over gRPC: the
saga reads the same outcome from either transport's answer (docs/internal-transport.md)."""

from __future__ import annotations

import pytest

from mercato.services.inventory.bootstrap import build
from mercato.services.inventory.errors import ERRORS
from mercato.services.inventory.grpc_api import served
from mercato.services.orders.adapters.participants import SagaParticipants
from mercato.services.orders.domain.order import Line, Order
from tests.support.service_http import service_app
from tests.support.transports import TRANSPORTS, commands_over
from tests.unit.inventory.conftest import KNOWN


def order(order_id: str, quantity: int) -> Order:
    return Order.fold(Order.place(order_id, "c1", [Line(KNOWN, quantity, 100)], "USD", {},
                                  "2026-01-01T00:00:00Z"))


@pytest.fixture(params=TRANSPORTS)
async def saga(request, tmp_path, inventory):
    await inventory.adjust_stock(KNOWN, 5, "initial", actor="test")
    app, _identity, _token = service_app("inventory", build, tmp_path)
    app.state.inventory = inventory
    async with commands_over(request.param, "inventory", app, served(inventory),
                             ERRORS) as commands:
        yield SagaParticipants(commands)


async def test_a_reservation_is_made_once_and_committed(saga, inventory):
    assert (await saga.reserve_stock(order("o1", 2))).ok
    assert (await saga.reserve_stock(order("o1", 2))).ok  # the same call again
    assert (await saga.confirm_order(order("o1", 2))).ok
    stock = await inventory.get_stock(KNOWN)
    assert (stock.available, stock.reserved, stock.sold) == (3, 0, 2)


async def test_too_much_is_refused_for_good_and_holds_nothing(saga, inventory):
    result = await saga.reserve_stock(order("o2", 6))
    assert (result.outcome, result.reason) == ("rejected", None)
    assert result.detail.startswith("409: ")
    assert (await inventory.get_stock(KNOWN)).available == 5


async def test_a_release_of_sold_goods_becomes_a_return(saga, inventory):
    await saga.reserve_stock(order("o3", 2))
    await saga.confirm_order(order("o3", 2))
    assert (await saga.release_stock(order("o3", 2))).ok
    stock = await inventory.get_stock(KNOWN)
    assert (stock.available, stock.sold) == (5, 0)


async def test_a_commit_after_expiry_is_final_with_reason_expired(saga, inventory, clock):
    await saga.reserve_stock(order("o4", 1))
    clock.advance(inventory.reservation_ttl.total_seconds() + 1)
    result = await saga.confirm_order(order("o4", 1))
    assert (result.outcome, result.reason) == ("rejected", "expired")


async def test_releasing_what_was_never_reserved_is_done(saga, inventory):
    assert (await saga.release_stock(order("o5", 1))).ok
    assert (await inventory.get_stock(KNOWN)).available == 5


async def test_the_same_reservation_id_for_other_items_is_refused(saga):
    await saga.reserve_stock(order("o6", 1))
    result = await saga.reserve_stock(order("o6", 2))
    assert result.outcome == "rejected" and result.detail.startswith("422: ")
