"""The service registry against a real NATS server."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest

from mercato.chassis.calls.registry import Instance, Registration, RegistryView

pytestmark = pytest.mark.integration


async def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


def instance(n: int, service: str = "catalog") -> Instance:
    return Instance(service, f"{service}-{n}", f"http://127.0.0.1:{9000 + n}", "1")


async def ready() -> bool:
    return True


async def test_an_instance_is_seen_while_it_heartbeats_and_gone_after_a_graceful_stop(
    nats_url,
):
    nc = await nats.connect(nats_url)
    view = RegistryView(nc, ttl=3)
    await view.start()
    reg = Registration(nc, instance(1), interval=0.5, ttl=3)
    await reg.start(ready)
    assert await wait_for(lambda: [i.instance_id for i in view.ready("catalog")] == ["catalog-1"])
    await asyncio.sleep(3.5)  # longer than the TTL: heartbeats keep it alive
    assert [i.instance_id for i in view.ready("catalog")] == ["catalog-1"]
    await reg.stop()
    assert await wait_for(lambda: view.ready("catalog") == [], timeout=1.0)
    await view.stop()
    await nc.close()


async def test_an_instance_that_stops_heartbeating_leaves_within_its_ttl(nats_url):
    nc = await nats.connect(nats_url)
    view = RegistryView(nc, ttl=3)
    await view.start()
    reg = Registration(nc, instance(2, "orders"), interval=0.5, ttl=3)
    await reg.start(ready)
    assert await wait_for(lambda: len(view.ready("orders")) == 1)
    reg._task.cancel()  # the process "dies": no more heartbeats, no deregistration
    # gone within the TTL (3 s) plus a margin for a loaded machine
    assert await wait_for(lambda: view.ready("orders") == [], timeout=4.5)
    await view.stop()
    await nc.close()


async def test_an_unready_instance_is_not_offered(nats_url):
    nc = await nats.connect(nats_url)
    view = RegistryView(nc, ttl=3)
    await view.start()

    async def unready() -> bool:
        return False

    reg = Registration(nc, instance(3, "cart"), interval=0.5, ttl=3)
    await reg.start(unready)
    assert await wait_for(lambda: any(i.service == "cart" for i in view.all()))
    assert view.ready("cart") == []
    await reg.stop()
    await view.stop()
    await nc.close()


async def test_the_view_survives_a_broker_restart_that_loses_the_bucket(tmp_path):
    from tests.integration.messaging_kit import NatsServer

    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        opts = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.2}
        nc_reader = await nats.connect(server.url, **opts)
        nc_writer = await nats.connect(server.url, **opts)
        view = RegistryView(nc_reader, ttl=2, silence=1.5)
        await view.start()
        reg = Registration(nc_writer, instance(4, "payments"), interval=0.3, ttl=2)
        await reg.start(ready)
        assert await wait_for(lambda: len(view.ready("payments")) == 1)
        server.stop()
        await asyncio.sleep(3)  # longer than the TTL, broker down: the view is kept
        assert [i.instance_id for i in view.ready("payments")] == ["payments-4"]
        server.start()  # the registry bucket was in memory: it is gone now
        assert await wait_for(lambda: len(view.ready("payments")) == 1, timeout=10)
        await asyncio.sleep(4)  # past the grace period: alive by fresh heartbeats
        assert [i.instance_id for i in view.ready("payments")] == ["payments-4"]
        await reg.stop()
        await view.stop()
        await nc_reader.close()
        await nc_writer.close()
    finally:
        server.stop()
