"""The storefront and the console over plain HTTP: they answer through the gateway, their
API calls meet the gateway's own rules (rate limits, access) and join the page's trace."""

from __future__ import annotations

import re
import secrets

import httpx

from tests.system.platform import Platform, wait_for

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def browser(p: Platform) -> httpx.Client:
    return httpx.Client(base_url=p.url, timeout=30, follow_redirects=False)


def test_the_shop_opens_on_the_demo_catalog_compressed(platform: Platform):
    with browser(platform) as b:
        def home():  # `mercato up` seeds the demo catalog just after it says it is ready
            got = b.get("/", headers={"Accept-Encoding": "gzip"})
            return got if "Enamel camping mug" in got.text else None

        r = wait_for(home, 30, "the demo catalog")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-encoding"] == "gzip"
    assert "Enamel camping mug" in r.text and "Featured" in r.text
    assert r.headers["x-request-id"] and r.headers["traceparent"]


def test_page_sign_ins_count_against_the_same_login_limit_as_the_api(platform: Platform):
    """The sign-in form calls the token endpoint in process, so its attempts take tokens
    from the email's login bucket (30/min burst 30, refilled by one every 2 s): after
    about 30 wrong passwords on the page, the page and the API refuse that email."""
    email = f"victim-{secrets.token_hex(5)}@example.com"
    statuses = []
    with browser(platform) as b:
        token = CSRF.search(b.get("/signin").text).group(1)
        while len(statuses) < 60 and 429 not in statuses:
            statuses.append(b.post("/signin", data={"email": email, "password": "wrong",
                                                    "csrf": token}).status_code)
    assert 30 <= len(statuses) < 60, statuses
    assert set(statuses[:-1]) == {400} and statuses[-1] == 429
    with platform.client() as api:
        r = api.post("/api/v1/identity/token", json={"email": email, "password": "wrong"})
    assert r.status_code == 429


def test_the_console_sends_anonymous_visitors_to_sign_in_and_refuses_customers(
        platform: Platform):
    with browser(platform) as b:
        r = b.get("/console")
        assert r.status_code == 303
        assert r.headers["location"] == "/signin?next=/console/"
        token, _user = platform.new_customer()
        b.cookies.set("mercato_access", token)
        refused = b.get("/console")
    assert refused.status_code == 403
    assert "administrators" in refused.text
    assert refused.headers["content-type"].startswith("text/html")


def test_a_product_page_and_its_api_calls_are_one_trace(platform: Platform):
    product = platform.new_product(stock=3, price=4200)
    trace_id = secrets.token_hex(16)
    parent = f"00-{trace_id}-{secrets.token_hex(8)}-01"  # sampled
    with browser(platform) as b:
        r = b.get(f"/products/{product['id']}", headers={"traceparent": parent})
    assert r.status_code == 200
    assert "Only 3 left" in r.text and "$42.00" in r.text

    def spans():
        with platform.client(platform.admin_token()) as c:
            got = c.get(f"/api/v1/ops/traces/{trace_id}")
        if got.status_code != 200:
            return None
        found = got.json()["spans"]
        services = {s["service"] for s in found}
        return found if {"gateway", "catalog", "inventory"} <= services else None

    found = wait_for(spans, 30, "the product page's trace", every=0.5)
    names = {s["name"] for s in found}
    assert "GET /products/*" in names
    assert any(n.startswith("GET /api/v1/catalog") for n in names)
