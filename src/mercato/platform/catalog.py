"""Every process the platform runs, named in one place (imported lazily by dotted path)."""

from __future__ import annotations

import importlib

# Start order matters only for readiness: identity first (it serves the JWKS).
SERVICES: dict[str, str] = {
    "identity": "mercato.services.identity.bootstrap:build",
    "catalog": "mercato.services.catalog.bootstrap:build",
    "inventory": "mercato.services.inventory.bootstrap:build",
    "cart": "mercato.services.cart.bootstrap:build",
    "orders": "mercato.services.orders.bootstrap:build",
    "payments": "mercato.services.payments.bootstrap:build",
    "shipping": "mercato.services.shipping.bootstrap:build",
    "notifications": "mercato.services.notifications.bootstrap:build",
    "loyalty": "mercato.services.loyalty.bootstrap:build",
    # Not a service of the domain but run as one (its identity, registry entry, replicas):
    # the mobile backend-for-frontend, reached through the gateway at /api/mobile/.
    "mobile-bff": "mercato.bff.mobile.bootstrap:build",
}
GATEWAY = "gateway"
TRACES = "traces"  # the embedded trace store (mercato.tracestore), not a service
PROVIDER = "provider"  # the card provider's simulator (mercato.simulators), not a service


def load_builder(service: str):
    module_name, _, attr = SERVICES[service].partition(":")
    return getattr(importlib.import_module(module_name), attr)
