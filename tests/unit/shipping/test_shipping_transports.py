"""Shipping as the saga's participant, the same scenarios over HTTP and over gRPC: the
saga reads the same outcome from either transport's answer (docs/internal-transport.md)."""

from __future__ import annotations

import pytest

from mercato.services.orders.adapters.participants import SagaParticipants
from mercato.services.orders.domain.order import Line, Order
from mercato.services.shipping.bootstrap import build
from mercato.services.shipping.errors import ERRORS
from mercato.services.shipping.grpc_api import served
from tests.support.service_http import service_app
from tests.support.transports import TRANSPORTS, commands_over

ADDRESS = {"name": "Ada", "line1": "1 Way", "city": "London", "postal_code": "N1",
           "country": "gb"}


def order(order_id: str, **address) -> Order:
    return Order.fold(Order.place(order_id, "c1", [Line("prod-1", 2, 100)], "USD",
                                  {**ADDRESS, **address}, "2026-01-01T00:00:00Z"))


@pytest.fixture(params=TRANSPORTS)
async def rig(request, tmp_path, make_shipping):
    shipping = await make_shipping("MRC-1", "MRC-2", "MRC-3")
    app, _identity, _token = service_app("shipping", build, tmp_path)
    app.state.shipping = shipping
    async with commands_over(request.param, "shipping", app, served(shipping),
                             ERRORS) as commands:
        yield SagaParticipants(commands), shipping


async def test_a_shipment_is_scheduled_once_for_the_upper_cased_country(rig):
    saga, shipping = rig
    assert (await saga.schedule_shipment(order("o1"))).ok
    assert (await saga.schedule_shipment(order("o1"))).ok  # the same call again
    [shipment] = await shipping.store.for_order("o1")
    assert (shipment.address.country, shipment.tracking_number) == ("GB", "MRC-1")


async def test_an_undeliverable_country_is_refused_for_good(rig):
    saga, _ = rig
    result = await saga.schedule_shipment(order("o2", country="AQ"))
    assert result.outcome == "rejected" and result.detail.startswith("409: ")


async def test_a_broken_address_is_refused_not_retried(rig):
    saga, _ = rig
    result = await saga.schedule_shipment(order("o3", city=" "))
    assert result.outcome == "rejected" and result.detail.startswith("422: ")


async def test_cancelling_then_scheduling_leaves_a_tombstone_that_refuses_it(rig):
    saga, _ = rig
    assert (await saga.cancel_shipment(order("o4"))).ok  # never seen: a tombstone
    assert (await saga.cancel_shipment(order("o4"))).ok
    late = await saga.schedule_shipment(order("o4"))
    assert late.outcome == "rejected" and late.detail.startswith("409: ")


async def test_a_scheduled_shipment_is_cancelled(rig):
    saga, shipping = rig
    await saga.schedule_shipment(order("o5"))
    assert (await saga.cancel_shipment(order("o5"))).ok
    [shipment] = await shipping.store.for_order("o5")
    assert shipment.status.value == "cancelled"
