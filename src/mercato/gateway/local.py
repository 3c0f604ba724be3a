"""The gateway's own answers about itself: its probes (``/health/live``, ``/ready``,
``/startup``) and its Prometheus exposition (``/metrics``), the process's default registry
and the gateway's own.

The probes are public (a load balancer asks them); the scrape is an operator's
(``MetricsAccess``): it names every upstream service, its breakers, retry budgets and
traffic per route, which is reconnaissance for anyone else, and it is served on the
gateway's one public port.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mercato.chassis.runtime import Runtime
from mercato.chassis.telemetry.http_metrics import GATEWAY_REGISTRY
from mercato.gateway.errors import Reply
from mercato.gateway.readiness import not_ready

JSON = b"application/json"
FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


@dataclass(frozen=True)
class MetricsAccess:
    """Who may read ``/metrics``: a client on one of ``networks`` that came straight to the
    gateway, or one presenting ``token`` as a bearer token.

    Addresses by default (this host), so the scrapers that run beside the gateway —
    Prometheus on the same machine, the tests, an operator's curl — need nothing; a token
    for a scraper elsewhere (Prometheus sends one per scrape job). A request that passed
    through a proxy (it carries a forwarding header) is never judged by its address: the
    proxy's own is usually on this host, the client's is not."""

    networks: tuple = ()
    token: str = ""

    @classmethod
    def parse(cls, addresses: str, token: str = "") -> MetricsAccess:
        nets = tuple(ipaddress.ip_network(a.strip(), strict=False)
                     for a in addresses.split(",") if a.strip())
        return cls(nets, token.strip())

    def allows(self, client: tuple | None, headers: dict[bytes, bytes]) -> bool:
        if self.token:
            scheme, _, given = headers.get(b"authorization", b"").partition(b" ")
            if scheme.lower() == b"bearer" and hmac.compare_digest(
                    given.strip(), self.token.encode()):
                return True
        if not client or any(h in headers for h in FORWARDED):
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:  # a unix socket's peer, or no address at all
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in net for net in self.networks)


LOCAL_ONLY = MetricsAccess.parse("127.0.0.1,::1")


async def answer_local(runtime: Runtime, method: str, path: str, access: MetricsAccess
                       = LOCAL_ONLY, client: tuple | None = None,
                       headers: dict | None = None) -> tuple[int, list, bytes]:
    """(status, headers, body) for a probe or the scrape; 503 ``Reply`` when not ready,
    403 for a scrape by someone ``access`` does not allow, 405 for a method other than
    GET or HEAD (they change nothing)."""
    if method not in ("GET", "HEAD"):
        raise Reply(405, f"{path} answers GET and HEAD only, not {method}",
                    {"Allow": "GET, HEAD"})
    if path == "/metrics":
        if not access.allows(client, headers or {}):
            raise Reply(403, "the gateway's /metrics is for operators: from an address in "
                             "MERCATO_GATEWAY_METRICS_FROM, or with the bearer token "
                             "MERCATO_GATEWAY_METRICS_TOKEN")
        return 200, [(b"content-type", CONTENT_TYPE_LATEST.encode())], (
            generate_latest() + generate_latest(GATEWAY_REGISTRY))
    if path == "/health/live":
        return 200, [(b"content-type", JSON)], b'{"status":"live"}'
    if path in ("/health/ready", "/health/startup"):
        problem = await not_ready(runtime) if path == "/health/ready" else (
            None if await runtime.is_ready()
            else "the gateway is not connected to the registry")
        if problem is None:
            return 200, [(b"content-type", JSON)], json.dumps({"status": "ready"}).encode()
        raise Reply(503, problem, {"Retry-After": "1"})
    raise Reply(404, f"no route for {path}")
