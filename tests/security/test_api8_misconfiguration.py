"""OWASP API8:2023 Security Misconfiguration, against the running platform (and, for the
settings, `mercato up` started briefly in production mode).

Errors are RFC 9457 problems without tracebacks, framework names or internal addresses;
no `Server` banner from the gateway or a service; pages carry a CSP with
frame-ancestors, nosniff, X-Frame-Options and a Referrer-Policy; CORS is closed (a
preflight from another origin gets no Access-Control-Allow-Origin); TRACE is refused and
never echoes the request; production refuses development defaults with a clear message.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mercato.chassis.settings import MissingSettings, Settings
from tests.security.helpers import customer, service_addresses
from tests.security.raw import raw_request
from tests.system.platform import Platform, free_port

LEAKS = (b"Traceback", b'File "', b"fastapi", b"starlette", b"uvicorn", b"pydantic",
         b"sqlalchemy", b"aiohttp", b"site-packages", b"Exception:")
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def token(platform: Platform) -> str:
    return customer(platform).token


def error_answers(platform: Platform, token: str) -> list[tuple[str, int, dict, bytes]]:
    bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    asks = [
        ("GET", "/api/v1/nope", {}, None),                                  # 404
        ("GET", "/api/v1/orders", {}, None),                                # 401
        ("GET", "/api/v1/ops/services", bearer, None),                      # 403
        ("GET", "/api/v1/orders/not-a-real-order", bearer, None),           # 404 upstream
        ("POST", "/api/v1/orders", bearer, b"{not json"),                   # 400
        ("POST", "/api/v1/orders", bearer, b'{"items": "x"}'),              # 422
        ("POST", "/api/v1/orders", bearer, b'{"items": [{"quantity": 1e999}]}'),
        ("POST", "/api/v1/identity/users", bearer, b'{"email": ["a"], "password": {}}'),
        ("GET", "/api/v1/catalog/products?limit=abc", {}, None),            # 422
        ("GET", "/api/v1/catalog/products?cursor=%00%ff", {}, None),        # 400
        ("GET", "/api/v1/../etc/passwd", {}, None),                         # 400
        ("DELETE", "/api/v1/cart/items", bearer, None),                     # 405/404
        ("POST", "/api/v1/identity/token", {"Content-Type": "application/json"},
         b"\xff\xfe"),
    ]
    return [(f"{m} {p}", *raw_request(platform.url, m, p, h, b)) for m, p, h, b in asks]


def test_errors_are_problems_without_tracebacks_banners_or_addresses(platform: Platform,
                                                                   token):
    for what, status, headers, body in error_answers(platform, token):
        assert 400 <= status < 500, (what, status, body[:300])
        assert headers["content-type"] == "application/problem+json", (what, headers)
        for leak in LEAKS:
            assert leak.lower() not in body.lower(), (what, leak, body[:300])
        assert b"127.0.0.1:" not in body, (what, body[:300])
        assert "server" not in headers, (what, headers["server"])
        assert "x-powered-by" not in headers, what


def test_no_server_banner_from_the_gateway_or_a_service(platform: Platform):
    targets = [platform.url + "/api/v1/catalog/categories", platform.url + "/",
               platform.url + "/health/live"]
    targets += [address + "/health/live" for address in service_addresses(platform).values()]
    with platform.client() as c:
        for url in targets:
            r = c.get(url)
            assert r.status_code == 200, (url, r.status_code)
            assert "server" not in r.headers, (url, r.headers["server"])
            assert "x-powered-by" not in r.headers, url


@pytest.mark.parametrize("page", ["/", "/console/sign-in", "/no-such-page"])
def test_pages_carry_the_security_headers(platform: Platform, page):
    with platform.client() as c:
        r = c.get(page)
    assert r.headers["content-type"].startswith("text/html"), (page, r.status_code)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] in ("same-origin", "no-referrer",
                                            "strict-origin-when-cross-origin")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[-1].split(";")[0]


@pytest.mark.parametrize("path", ["/api/v1/catalog/products", "/api/v1/orders",
                                  "/api/v1/ops/services", "/"])
def test_cors_is_closed_to_another_origin(platform: Platform, token, path):
    with platform.client() as c:
        preflight = c.options(path, headers={
            "Origin": EVIL, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        simple = c.get(path, headers={"Origin": EVIL, "Authorization": f"Bearer {token}"})
    for r in (preflight, simple):
        assert "access-control-allow-origin" not in r.headers, (path, r.headers)
        assert "access-control-allow-credentials" not in r.headers, path
    assert not 200 <= preflight.status_code < 300 or "access-control-allow-methods" \
        not in preflight.headers


@pytest.mark.parametrize("path", ["/api/v1/catalog/products", "/api/v1/orders", "/",
                                  "/health/live", "/api/v1/identity/users/me"])
def test_trace_is_refused_and_never_echoes(platform: Platform, token, path):
    marker = "echo-me-9f2c"
    for auth in ({}, {"Authorization": f"Bearer {token}"}):
        status, _, body = raw_request(platform.url, "TRACE", path,
                                      {**auth, "X-Echo-Marker": marker})
        if auth:
            assert status in (404, 405), (path, status, body[:200])
        else:
            assert status in (401, 404, 405), (path, status, body[:200])
        assert marker.encode() not in body and b"Bearer" not in body


def test_trace_on_a_services_own_port_is_refused(platform: Platform):
    address = service_addresses(platform)["catalog"]
    status, _, body = raw_request(address, "TRACE", "/api/v1/catalog/products",
                                  {"X-Echo-Marker": "echo-me"})
    assert status in (404, 405) and b"echo-me" not in body, (status, body[:200])


def test_production_settings_refuse_the_development_defaults(monkeypatch):
    for key in list(os.environ):
        if key.startswith("MERCATO_"):
            monkeypatch.delenv(key)
    settings = Settings(env="production")
    with pytest.raises(MissingSettings) as refused:
        settings.require_production("admin_password", "service_key_file")
    assert "MERCATO_ADMIN_PASSWORD, MERCATO_SERVICE_KEY_FILE" in str(refused.value)
    assert "outside development" in str(refused.value)


def test_mercato_up_in_production_with_the_defaults_exits_naming_the_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}
    env.update(MERCATO_ENV="production", MERCATO_DATA_DIR=str(tmp_path / "data"),
               MERCATO_GATEWAY_PORT=str(free_port()))
    done = subprocess.run([sys.executable, "-m", "mercato", "up"], env=env, timeout=60,
                          capture_output=True, text=True)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert ("MERCATO_ADMIN_PASSWORD, MERCATO_SIGNING_KEY_FILE must be set outside "
            "development") in out, out
    assert "Mercato is ready" not in out
    assert not (tmp_path / "data" / "identity").exists()  # no service was started
