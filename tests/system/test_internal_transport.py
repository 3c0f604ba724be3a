"""The saga participants' internal commands over HTTP, the default, and over gRPC
(MERCATO_INTERNAL_TRANSPORT=grpc; docs/internal-transport.md): the registry names each
gRPC endpoint, it answers the standard health check, an order's trace shows which
transport carried its steps, and the checkout journeys run again on a gRPC-transport
platform (imported here, so they run against this module's ``stack``)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.system.platform import Platform, running_platform
from tests.system.test_checkout_journey import (  # noqa: F401 - collected again, here
    test_a_declined_card_cancels_the_order_and_releases_all_stock,
    test_a_good_card_confirms_the_order_and_moves_stock_to_sold,
    test_an_undeliverable_address_cancels_and_voids_the_authorization,
    test_cancelling_a_confirmed_order_refunds_it_and_returns_its_stock,
)
from tests.system.test_traces import FORWARD, order_trace, place, saga_steps

SERVING = {"catalog", "inventory", "payments", "shipping"}  # what serves gRPC
RPC_SERVICES = {"inventory": "mercato.inventory.v1.Reservations",
                "payments": "mercato.payments.v1.Payments",
                "shipping": "mercato.shipping.v1.Shipments",
                "catalog": "mercato.catalog.v1.Products"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Platform:
    """An embedded platform whose saga calls its participants over gRPC (replaces
    conftest's ``stack``, so the imported journeys run on it)."""
    yield from running_platform(tmp_path_factory, "grpc-transport",
                                MERCATO_INTERNAL_TRANSPORT="grpc")


def endpoints(p: Platform) -> dict[str, list[str | None]]:
    with p.client(p.admin_token()) as c:
        r = c.get("/api/v1/ops/services")
    assert r.status_code == 200, r.text
    found: dict[str, list[str | None]] = {}
    for item in r.json()["items"]:
        found.setdefault(item["service"], []).append(item["grpc"])
    return found


def participant_spans(spans: list[dict]) -> dict[str, set[str]]:
    """The server spans of the participants' services in a trace: service -> names."""
    found: dict[str, set[str]] = {}
    for s in spans:
        if s["kind"] == "server" and s["service"] in SERVING:
            found.setdefault(s["service"], set()).add(s["name"])
    return found


async def _health(address: str, service: str) -> int:
    """The endpoint's health of ``service``, once SERVING or after 5 s (it follows the
    instance's readiness, polled each second)."""
    async with grpc.aio.insecure_channel(address) as channel:
        for _ in range(25):
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=5)
            if answer.status == health_pb2.HealthCheckResponse.SERVING:
                break
            await asyncio.sleep(0.2)
    return answer.status


async def test_each_participant_registers_a_grpc_endpoint_that_answers_health(
        stack: Platform):
    found = endpoints(stack)
    assert SERVING <= set(found), found
    for service, addresses in found.items():
        if service in SERVING:
            assert all(a and a.startswith("127.0.0.1:") for a in addresses), found
            for address in addresses:
                assert await _health(address, RPC_SERVICES[service]) == (
                    health_pb2.HealthCheckResponse.SERVING)
        else:
            assert addresses == [None] * len(addresses), found


def test_on_the_default_http_transport_no_process_serves_grpc(platform: Platform):
    found = endpoints(platform)
    assert SERVING <= set(found), found
    assert all(a is None for addresses in found.values() for a in addresses), found


def test_with_the_grpc_transport_the_saga_and_the_catalog_lookup_go_over_grpc(
        stack: Platform):
    _token, order_id, order = place(stack, "tok_ok")
    assert order["status"] == "confirmed"
    _items, spans = order_trace(stack, order_id,
                                lambda s: len(saga_steps(s)) == len(FORWARD)
                                and set(participant_spans(s)) >= SERVING)
    names = participant_spans(spans)
    assert names["inventory"] >= {"mercato.inventory.v1.Reservations/Reserve",
                                  "mercato.inventory.v1.Reservations/Commit"}, names
    assert names["payments"] >= {"mercato.payments.v1.Payments/Authorize",
                                 "mercato.payments.v1.Payments/Capture"}, names
    assert "mercato.shipping.v1.Shipments/Schedule" in names["shipping"], names
    assert "mercato.catalog.v1.Products/Lookup" in names["catalog"], names
    rpc = [s for s in spans if s["attributes"].get("rpc.system") == "grpc"]
    assert all(s["kind"] == "server" for s in rpc)


def test_by_default_the_same_steps_go_over_http(platform: Platform):
    _token, order_id, order = place(platform, "tok_ok")
    assert order["status"] == "confirmed"
    _items, spans = order_trace(platform, order_id,
                                lambda s: len(saga_steps(s)) == len(FORWARD)
                                and set(participant_spans(s)) >= SERVING)
    names = participant_spans(spans)
    assert "POST /internal/reservations" in names["inventory"], names
    assert "POST /internal/products/lookup" in names["catalog"], names
    assert not [s for s in spans if s["attributes"].get("rpc.system") == "grpc"]
