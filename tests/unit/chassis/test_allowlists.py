"""Every internal route of every service names the services that may call it (an
undeclared one fails here), and the lists are the ones the platform's calls need."""

from __future__ import annotations

import pytest

from mercato.platform.catalog import SERVICES, load_builder
from tests.support.service_http import service_runtime

# Who calls what today (docs/zero-trust.md): the orchestrating saga in orders, the
# catalog lookup from the services that price or check products and from the gateway's
# storefront and the mobile BFF, operators' commands as ``cli``, the console as ``gateway``.
EXPECTED = {
    ("payments", "POST /internal/payments/{payment_id}/refund"): ["orders"],
    ("payments", "POST /internal/payments/authorize"): ["orders"],
    ("inventory", "POST /internal/reservations/{reservation_id}/commit"): ["orders"],
    ("catalog", "POST /internal/products/lookup"): ["cart", "gateway", "inventory", "mobile-bff",
                                                    "orders"],
    ("orders", "GET /internal/sagas/{order_id}"): ["gateway"],
    ("orders", "POST /internal/projections/rebuild"): ["cli"],
    ("identity", "GET /internal/facts"): ["cli"],
    ("cart", "GET /internal/carts/{user_id}"): ["orders"],
}


def internal_routes(app) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in app.openapi()["paths"].items()
            if path.startswith("/internal/") for method in item}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_internal_route_declares_its_callers(service, tmp_path):
    app = load_builder(service)(service_runtime(service, tmp_path))
    routes = internal_routes(app)
    assert routes, f"{service} has no internal route?"
    undeclared = routes - set(app.state.allowlist)
    assert not undeclared, f"{service}: internal routes without require_service(...)"
    assert "GET /internal/breakers" in app.state.allowlist


@pytest.mark.parametrize(("where", "callers"), EXPECTED.items())
def test_the_lists_are_the_calls_the_platform_makes(where, callers, tmp_path):
    service, route = where
    app = load_builder(service)(service_runtime(service, tmp_path))
    assert app.state.allowlist[route] == callers
