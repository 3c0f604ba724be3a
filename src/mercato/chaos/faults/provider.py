"""F8: the card provider slow past payments' timeout, and lying — toxics on the proxy
``provider-payments`` (platform/faults/links.py). Most windows delay only the answers
(downstream): the provider got each request and did it, but its answer comes after
payments gave up, which is a timeout that was a success. Some delay both ways (slow).

Payments records each such call as a doubt and its reconciler settles it after the
window (services/payments/doubts.py). F8's own checks read the provider's ledger and hold
it to payments' and orders' facts (provider_ledger.py), waiting for the reconciler.
"""

from __future__ import annotations

import contextlib

import aiohttp

from mercato.chaos.faults.base import Check, Fault, Target, until
from mercato.chaos.faults.provider_ledger import LedgerViolations, compare
from mercato.platform.running import running_state

PROXY = "provider-payments"
SETTLE_WAIT = 45.0  # seconds the reconciler may take, after quiescence, to agree


class LyingProvider(Fault):
    id, what, lengths = "F8", "card provider slow past the timeout, and lying", (4.0, 7.0)
    # doubts looked up soon after the window, so the checks need not wait long
    platform_env = {"MERCATO_PROVIDER_DOUBT_GRACE": "2", "MERCATO_PROVIDER_RECONCILE_POLL": "0.5"}

    async def inject(self, target: Target) -> str:
        timeout = float(running_state(target.data_dir).get("provider_timeout") or 2.0)
        late = round((timeout + target.rng.uniform(0.3, 1.0)) * 1000)
        toxics = {"downstream": {"latency_ms": late}}
        kind = "lying: answers"
        if target.rng.random() < 0.3:
            toxics["upstream"] = {"latency_ms": late // 2}
            kind = "slow: requests and answers"
        await target.control("fault", proxy=PROXY, set=toxics)
        return f"{PROXY} {kind} {late} ms late (timeout {timeout:g}s)"

    async def heal(self, target: Target) -> str:
        healed = await target.control("heal", proxy=PROXY)
        return f"healed {len(healed)} proxy"

    async def checks(self, target: Target) -> list[Check]:
        found: dict[str, LedgerViolations | int] = {}

        async def agrees() -> bool:
            ledger = await provider_ledger(target.data_dir)
            payments, orders = await facts(target.data_dir)
            found["violations"] = v = compare(ledger, payments, orders)
            found["authorizations"] = len(ledger)
            return not (v.money or v.held)

        await until(agrees, SETTLE_WAIT, every=1.0)
        v = found.get("violations")
        if not isinstance(v, LedgerViolations):
            return [Check("F8: the provider's ledger could be read", False,
                          "no ledger or facts read", count=1, inv="INV-money")]
        n = found["authorizations"]
        return [
            Check("F8: every capture at the provider is a confirmed order's, amounts "
                  "matching; none kept for a cancelled one", not v.money,
                  f"{n} authorizations at the provider", len(v.money), v.money, "INV-money"),
            Check("F8: no authorization left open at the provider for an ended order",
                  not v.held, f"{n} authorizations at the provider", len(v.held), v.held,
                  "INV-term"),
        ]


async def provider_ledger(data_dir) -> list[dict]:
    url = running_state(data_dir)["provider_url"]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.get(f"{url}/ledger") as r:
            r.raise_for_status()
            return (await r.json())["authorizations"]


async def facts(data_dir) -> tuple[list[dict], list[dict]]:
    """Payments' and orders' ``mercato verify`` facts, read as the chaos run reads them."""
    from mercato.chassis.calls.client import ServiceClient
    from mercato.chassis.calls.registry import RegistryView
    from mercato.chassis.settings import load_settings
    from mercato.cli.verify import see_services
    from mercato.platform.running import cli_identity, cli_ssl, connect, login

    settings = load_settings(data_dir=data_dir, service_key_file=None,
                             service_jwks_file=None, nats_nkey_file=None)
    nc = await connect(running_state(data_dir)["nats_url"], login(data_dir))
    view = RegistryView(nc, settings.registry_ttl)
    client = ServiceClient(view, cli_identity(settings), timeout=10, ssl=cli_ssl(data_dir))
    try:
        await view.start()
        await see_services(view)
        await client.start()
        out = []
        for service, key in (("payments", "payments"), ("orders", "orders")):
            reply = await client.call(service, "GET", "/internal/facts", timeout=10)
            if not reply.ok:
                raise RuntimeError(f"{service}' facts answered {reply.status}")
            out.append(reply.json()[key])
        return out[0], out[1]
    finally:
        await client.close()
        await view.stop()
        with contextlib.suppress(Exception):
            await nc.close()
