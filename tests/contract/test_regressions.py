"""What schemathesis found (test_schemathesis.py, seed 1 and the suite's seed), kept as
explicit cases: each request it sent, the answer now given, and that the document says so.

- ``GET /api/v1/ops/dead-letters/0`` and ``POST .../0/replay`` answered 503 (the broker
  refuses sequence 0 as a bad request, and the gateway took that for the broker being
  down): now 404, as for any sequence with no dead letter.
- 409s nobody had declared: a duplicate SKU, a duplicate email, a voided payment moved or
  authorized again, a released reservation committed or returned, a cancelled shipment
  scheduled: now in each operation's responses, as problem+json.
- The gateway's own operations problems were ``application/json`` with no
  ``correlation_id``: now problem+json like every other error.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from mercato.chassis.identity import load_identity
from mercato.chassis.settings import load_settings
from tests.contract.test_schemathesis import addresses
from tests.system.platform import ADMIN, Platform

pytestmark = pytest.mark.system
PROBLEM = "application/problem+json"


def declared(document: dict, method: str, path: str) -> dict:
    """The responses ``document`` declares for ``method path``."""
    return document["paths"][path][method.lower()]["responses"]


def is_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["correlation_id"] and body["detail"]
    return body


@pytest.fixture(scope="module")
def admin(contract_platform: Platform) -> str:
    return contract_platform.login(ADMIN["email"], ADMIN["password"])


@pytest.fixture(scope="module")
def public(contract_platform: Platform) -> dict:
    with contract_platform.client() as c:
        r = c.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json()


def test_dead_letter_zero_is_not_found_not_a_server_error(contract_platform, admin, public):
    with contract_platform.client(admin) as c:  # schemathesis j5Kf3D and ydX1NS, seed 1
        one = c.get("/api/v1/ops/dead-letters/0")
        replay = c.post("/api/v1/ops/dead-letters/0/replay")
    is_problem(one, 404)
    is_problem(replay, 404)
    assert "404" in declared(public, "GET", "/api/v1/ops/dead-letters/{seq}")


def test_a_duplicate_sku_is_a_declared_409(contract_platform, admin, public):
    product = {"sku": f"DUP-{uuid.uuid4().hex[:8]}", "name": "0", "category": "0",
               "price": 1000000000000, "currency": "USD"}  # schemathesis XSIVTB, seed 1
    with contract_platform.client(admin) as c:
        assert c.post("/api/v1/catalog/products", json=product).status_code == 201
        again = c.post("/api/v1/catalog/products", json=product)
    is_problem(again, 409)
    assert "409" in declared(public, "POST", "/api/v1/catalog/products")


def test_a_duplicate_email_is_a_declared_409(contract_platform, public):
    user = {"email": f"{uuid.uuid4().hex[:8]}@0.com", "name": "0" * 200,
            "password": "0" * 8}  # schemathesis YZrgmj, seed 1
    with contract_platform.client() as c:
        assert c.post("/api/v1/identity/users", json=user).status_code == 201
        again = c.post("/api/v1/identity/users", json=user)
    is_problem(again, 409)
    assert "409" in declared(public, "POST", "/api/v1/identity/users")


@pytest.mark.parametrize(("service", "path", "method"), [
    ("payments", "/internal/payments/authorize", "POST"),
    ("payments", "/internal/payments/{payment_id}/capture", "POST"),
    ("payments", "/internal/payments/{payment_id}/refund", "POST"),
    ("inventory", "/internal/reservations", "POST"),
    ("inventory", "/internal/reservations/{reservation_id}/commit", "POST"),
    ("inventory", "/internal/reservations/{reservation_id}/return", "POST"),
    ("shipping", "/internal/shipments", "POST"),
])
def test_internal_conflicts_are_declared(contract_platform, admin, service, path, method):
    address = addresses(contract_platform, admin)[service]
    token = load_identity("orders", load_settings(data_dir=contract_platform.data_dir)
                          ).token(service)
    with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {token}"}) as c:
        document = c.get(f"{address}/openapi.json").json()
    responses = declared(document, method, path)
    assert PROBLEM in responses["409"]["content"]
    assert "/internal/" not in str(declared_paths(contract_platform))


def test_a_voided_payment_captured_is_the_declared_409(contract_platform, admin):
    address = addresses(contract_platform, admin)["payments"]
    token = load_identity("orders", load_settings(data_dir=contract_platform.data_dir)
                          ).token("payments")
    pid = f"p-{uuid.uuid4().hex[:8]}"  # schemathesis MnTZNv: a tombstone, then capture
    with httpx.Client(base_url=address, timeout=10,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.post(f"/internal/payments/{pid}/void").status_code == 200
        captured = c.post(f"/internal/payments/{pid}/capture")
    assert is_problem(captured, 409)["payment_id"] == pid


def test_the_gateways_own_problems_are_problem_json(contract_platform, admin):
    with contract_platform.client(admin) as c:
        r = c.get("/api/v1/ops/no-such-route")
    is_problem(r, 404)


def declared_paths(platform: Platform) -> list[str]:
    with platform.client() as c:
        return list(c.get("/api/v1/openapi.json").json()["paths"])
