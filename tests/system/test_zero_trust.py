"""Zero trust inside (docs/zero-trust.md), tried against the running platform as a local
process would: without credentials nothing on a service's own port answers; a user's
token counts only through the gateway; a service's token works only towards the service
it was minted for and only on the routes that name that service — the refund of the
issue's takeover, made with another service's token, changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import nats
import pytest

from mercato.chassis.identity import load_identity
from mercato.chassis.settings import load_settings
from mercato.platform.running import login
from tests.system.platform import Platform


def addresses(platform: Platform) -> dict[str, str]:
    with platform.client(platform.admin_token()) as c:
        items = c.get("/api/v1/ops/services").json()["items"]
    return {i["service"]: i["address"] for i in items if i["service"] != "gateway"}


def as_workload(platform: Platform, name: str):
    """A workload's identity from the data dir's keys (what a stolen key would give)."""
    return load_identity(name, load_settings(data_dir=platform.data_dir))


def confirmed_payment(platform: Platform) -> tuple[str, dict]:
    token, _ = platform.new_customer()
    pid = platform.new_product(stock=5, price=2500)["id"]
    with platform.client(token) as c:
        placed = c.post("/api/v1/orders", json=platform.order_body(pid))
    assert placed.status_code == 202, placed.text
    order = placed.json()
    assert platform.wait_terminal(token, order["id"])["status"] == "confirmed"
    with platform.client(token) as c:
        [payment] = c.get(f"/api/v1/payments?order_id={order['id']}").json()["items"]
    assert payment["status"] == "captured"
    return token, payment


def test_without_credentials_no_service_route_answers(platform: Platform):
    where = addresses(platform)
    with httpx.Client(timeout=5) as c:
        internal = c.post(f"{where['payments']}/internal/payments/p-1/refund", json={})
        public = c.get(f"{where['catalog']}/api/v1/catalog/products")
        probe = c.get(f"{where['catalog']}/health/ready")
    assert internal.status_code == 401 and public.status_code == 401
    assert "services take calls from other services and from the gateway" in \
        public.json()["detail"]
    assert probe.status_code == 200  # probes stay open to the supervisor and orchestrator


def test_a_users_token_on_a_services_own_port_is_refused(platform: Platform):
    token, _ = platform.new_customer()
    with httpx.Client(timeout=5, headers={"Authorization": f"Bearer {token}"}) as c:
        direct = c.get(f"{addresses(platform)['orders']}/api/v1/orders")
    with platform.client(token) as c:
        through_gateway = c.get("/api/v1/orders")
    assert direct.status_code == 401
    assert through_gateway.status_code == 200


def test_another_services_token_cannot_refund_and_nothing_changes(platform: Platform):
    customer, payment = confirmed_payment(platform)
    refund = f"{addresses(platform)['payments']}/internal/payments/{payment['id']}/refund"
    cart = as_workload(platform, "cart")
    orders = as_workload(platform, "orders")
    with httpx.Client(timeout=5) as c:
        as_cart = c.post(refund, json={},
                         headers={"Authorization": f"Bearer {cart.token('payments')}"})
        # orders' token, but minted for inventory (stolen from that traffic)
        misdirected = c.post(refund, json={},
                             headers={"Authorization": f"Bearer {orders.token('inventory')}"})
    assert as_cart.status_code == 403
    assert as_cart.json()["detail"].startswith("cart may not call POST /internal/payments/")
    assert misdirected.status_code == 401
    assert "not for payments" in misdirected.json()["detail"]
    with platform.client(customer) as c:
        [after] = c.get(f"/api/v1/payments?order_id={payment['order_id']}").json()["items"]
    assert after["status"] == "captured"


def test_a_route_takes_the_callers_it_names(platform: Platform):
    _, payment = confirmed_payment(platform)
    saga = f"{addresses(platform)['orders']}/internal/sagas/{payment['order_id']}"
    with httpx.Client(timeout=5) as c:
        as_gateway = c.get(saga, headers={
            "Authorization": f"Bearer {as_workload(platform, 'gateway').token('orders')}"})
        as_payments = c.get(saga, headers={
            "Authorization": f"Bearer {as_workload(platform, 'payments').token('orders')}"})
    assert as_gateway.status_code == 200
    assert as_payments.status_code == 403


# --- NATS: users and least privilege (docs/zero-trust.md part 3) ----------------------

def nats_try(platform: Platform, user: str | None, act) -> list[str]:
    """Run ``act(js)`` on the platform's NATS as ``user`` (its seed from the data dir;
    None: no credentials); the permission errors the server reported, lower-cased."""
    url = json.loads((platform.data_dir / "run" / "state.json").read_text())["nats_url"]
    errors: list[str] = []

    async def record(exc: Exception) -> None:
        errors.append(str(exc).lower())

    async def run() -> None:
        options = login(platform.data_dir, user) if user else {}
        nc = await nats.connect(url, allow_reconnect=False, connect_timeout=2,
                                error_cb=record, **options)
        try:
            with contextlib.suppress(nats.errors.Error):
                await act(nc.jetstream(timeout=1))
            await nc.flush()
            await asyncio.sleep(0.2)  # the server's async -ERR reaches the callback
        finally:
            await nc.close()

    asyncio.run(run())
    return errors


def test_nats_refuses_a_client_without_credentials(platform: Platform):
    async def nothing(_js) -> None:
        pass
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        nats_try(platform, None, nothing)


def test_a_service_cannot_forge_another_services_event_or_registry_entry(platform: Platform):
    forged = json.dumps({"id": "f-1", "type": "UserRegistered", "version": 1,
                         "source": "identity", "occurred_at": "2026-01-01T00:00:00+00:00",
                         "payload": {"user_id": "u", "email": "evil@example.com",
                                     "name": "Eve"}}).encode()

    async def forge_event(js) -> None:
        await js.publish("mercato.identity.UserRegistered", forged)

    async def rogue_identity(js) -> None:
        kv = await js.key_value("mercato_registry")
        await kv.put("identity.rogue-1", b'{"service": "identity"}')

    assert 'permissions violation for publish to "mercato.identity.userregistered"' in \
        " ".join(nats_try(platform, "cart", forge_event))
    assert 'permissions violation for publish to "$kv.mercato_registry.identity.rogue-1"' in \
        " ".join(nats_try(platform, "cart", rogue_identity))
    with platform.client(platform.admin_token()) as c:
        items = c.get("/api/v1/ops/services").json()["items"]
    assert not [i for i in items if "rogue" in i.get("instance_id", "")]
