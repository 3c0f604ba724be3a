"""F8 in short, on a real platform with `mercato up --fault-proxies`: the card provider
(the simulator `mercato up` runs, behind the proxy ``provider-payments``) authorizes but
answers past payments' timeout, for longer than the step deadline. The order is
cancelled (payment unavailable), the authorization that did happen is found by the
reconciler and voided, the next order once healed is confirmed and captured once, and
the provider's ledger agrees with payments and orders (F8's own checks)."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import pytest

from mercato.chaos.faults import Target
from mercato.chaos.faults.provider import LyingProvider, provider_ledger
from mercato.contracts.ids import payment_id
from tests.system.platform import make_platform, wait_for

STEP_DEADLINE = "2"  # seconds: the late answers below outlast it


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    p = make_platform(tmp_path_factory.mktemp("provider-faults"),
                      MERCATO_SAGA_STEP_DEADLINE=STEP_DEADLINE,
                      **LyingProvider.platform_env)
    p.start(120.0, "--fault-proxies")
    yield p
    assert p.stop() == 0, p.output.read_text()


def place(p, token: str, product_id: str) -> str:
    with p.client(token) as c:
        r = c.post("/api/v1/orders", json=p.order_body(product_id))
    assert r.status_code == 202, r.text
    return r.json()["id"]


def at_provider(p, order_id: str) -> dict | None:
    ledger = asyncio.run(provider_ledger(p.data_dir))
    return next((a for a in ledger if a["reference"] == payment_id(order_id)), None)


def test_a_late_success_is_reconciled_and_the_ledger_agrees(proxied):
    target = Target(data_dir=proxied.data_dir, rng=random.Random(1),
                    step_deadline=float(STEP_DEADLINE), url=proxied.url)
    fault = LyingProvider()
    product = proxied.new_product(stock=5)
    token, _ = proxied.new_customer()
    assert "late" in asyncio.run(fault.inject(target))
    try:
        late = proxied.wait_terminal(token, place(proxied, token, product["id"]), 30)
    finally:
        asyncio.run(fault.heal(target))
    assert (late["status"], late["reason"]) == ("cancelled", "payment_unavailable")
    # the provider did authorize it (once, however often it was asked), and it is voided
    found = wait_for(lambda: (a := at_provider(proxied, late["id"])) and
                     a["status"] == "voided" and a, 30, "the late authorization voided")
    assert [e["kind"] for e in found["entries"]] == ["authorize", "void"]
    healed = proxied.wait_terminal(token, place(proxied, token, product["id"]), 30)
    assert healed["status"] == "confirmed"
    captured = at_provider(proxied, healed["id"])
    assert captured["status"] == "captured" and captured["amount"] == healed["total"]
    checks = asyncio.run(fault.checks(target))
    assert [c.inv for c in checks] == ["INV-money", "INV-term"]
    assert all(c.ok for c in checks), [(c.name, c.violations) for c in checks]


def test_the_simulator_is_supervised_and_behind_its_proxy(proxied):
    async def listed():
        return await Target(data_dir=proxied.data_dir, rng=random.Random(),
                            step_deadline=2.0).control("faults")
    names = {x["name"]: x for x in asyncio.run(listed())}
    assert names["provider-payments"]["counts"]["accepted"] > 0

    async def live():
        from mercato.platform.running import running_state
        url = running_state(proxied.data_dir)["provider_url"]
        async with aiohttp.ClientSession() as http, http.get(url + "/health/live") as r:
            return r.status
    assert asyncio.run(live()) == 200
