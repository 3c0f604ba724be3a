"""Sessions, CSRF and headers of the page kit, through the storefront app and a fake API."""

from __future__ import annotations

import re

import httpx
import pytest

from mercato.pages.csrf import Csrf
from mercato.storefront.app import create_storefront
from tests.unit.pages.fakes import FakeApi, FakeVerifier

SECRET = "test-secret"
PRODUCTS = {"items": [{"id": "p1", "sku": "S1", "name": "Mug", "description": "d",
                       "category": "kitchen", "price": 1299, "currency": "USD"}],
            "next_cursor": None}


@pytest.fixture
def api() -> FakeApi:
    fake = FakeApi()
    fake.on("GET", "/api/v1/catalog/products?limit=8", 200, PRODUCTS)
    fake.on("GET", "/api/v1/catalog/categories", 200, {"items": [
        {"name": "kitchen", "product_count": 1}]})
    fake.on("GET", "/api/v1/cart", 200, {"items": [], "total": 0, "currency": "USD"})
    return fake


@pytest.fixture
async def browser(api):
    app = create_storefront(api, FakeVerifier(), SECRET)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        yield client


def csrf_pair(client: httpx.AsyncClient) -> dict:
    cookie = client.cookies["mercato_csrf"]
    return {"csrf": Csrf(SECRET).token(cookie)}


async def test_every_page_sends_the_security_headers_and_a_csrf_cookie(browser):
    r = await browser.get("/")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["cache-control"] == "no-store"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("mercato_csrf=") and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Mug" in r.text


async def test_static_files_are_cached_and_answer_304_to_their_etag(browser):
    r = await browser.get("/static/shop.css", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=3600"
    assert r.headers["content-encoding"] == "gzip"
    again = await browser.get("/static/shop.css", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert (await browser.get("/static/kit/live.js")).status_code == 200


async def test_a_post_without_the_csrf_token_is_refused_and_does_nothing(browser, api):
    await browser.get("/")
    r = await browser.post("/signin", data={"email": "a@example.com", "password": "x"})
    assert r.status_code == 403
    assert "did not come from this site" in r.text
    assert not [c for c in api.calls if c["path"] == "/api/v1/identity/token"]
    forged = await browser.post("/signin", data={"email": "a@example.com", "password": "x",
                                                 "csrf": "0" * 64})
    assert forged.status_code == 403


async def test_signing_in_puts_the_tokens_in_httponly_cookies(browser, api):
    api.on("POST", "/api/v1/identity/token", 200,
           {"access_token": "user:ada", "refresh_token": "r1", "token_type": "bearer",
            "expires_in": 900})
    await browser.get("/")
    r = await browser.post("/signin", data={"email": "ada@example.com", "password": "pw",
                                            "next": "/cart", **csrf_pair(browser)})
    assert r.status_code == 303 and r.headers["location"] == "/cart"
    cookies = r.headers.get_list("set-cookie")
    access = next(c for c in cookies if c.startswith("mercato_access="))
    assert "HttpOnly" in access and "samesite=lax" in access.lower()
    assert "Secure" not in access  # plain http here; https adds it
    sent = next(c for c in api.calls if c["path"] == "/api/v1/identity/token")
    assert sent["client"] == ("203.0.113.9", 5555)  # rate limits see the browser's address
    cart = await browser.get("/cart")
    assert cart.status_code == 200
    assert next(c for c in api.calls if c["path"] == "/api/v1/cart")["token"] == "user:ada"


async def test_sign_in_never_sends_a_visitor_to_another_site(browser, api):
    api.on("POST", "/api/v1/identity/token", 200,
           {"access_token": "user:ada", "refresh_token": "r1"})
    await browser.get("/")
    for target in ("//evil.example", "https://evil.example", "/\\evil.example"):
        r = await browser.post("/signin", data={"email": "a@b.c", "password": "pw",
                                                "next": target, **csrf_pair(browser)})
        assert r.headers["location"] == "/"


async def test_a_wrong_password_re_renders_the_form_with_the_message(browser, api):
    api.on("POST", "/api/v1/identity/token", 401, {"detail": "wrong email or password"})
    await browser.get("/")
    r = await browser.post("/signin", data={"email": "ada@example.com", "password": "bad",
                                            **csrf_pair(browser)})
    assert r.status_code == 400
    assert "The email or the password is wrong." in r.text
    assert 'value="ada@example.com"' in r.text
    assert "mercato_access" not in r.headers.get("set-cookie", "")


async def test_an_expired_access_token_is_renewed_with_the_refresh_token(browser, api):
    api.on("POST", "/api/v1/identity/token/refresh", 200,
           {"access_token": "user:ada", "refresh_token": "r2"})
    browser.cookies.set("mercato_access", "expired")
    browser.cookies.set("mercato_refresh", "r1")
    r = await browser.get("/cart")
    assert r.status_code == 200
    refresh = next(c for c in api.calls if c["path"] == "/api/v1/identity/token/refresh")
    assert refresh["json"] == {"refresh_token": "r1"}
    set_cookies = " ".join(r.headers.get_list("set-cookie"))
    assert re.search(r"mercato_access=user:ada", set_cookies)
    assert re.search(r"mercato_refresh=r2", set_cookies)


async def test_a_refused_refresh_signs_the_visitor_out(browser, api):
    api.on("POST", "/api/v1/identity/token/refresh", 401, {"detail": "revoked"})
    browser.cookies.set("mercato_access", "expired")
    browser.cookies.set("mercato_refresh", "stolen")
    r = await browser.get("/cart")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    assert 'mercato_access=""' in " ".join(r.headers.get_list("set-cookie"))


async def test_checkout_bad_input_names_the_field_and_places_nothing(browser, api):
    api.on("GET", "/api/v1/cart", 200, {"items": [
        {"product_id": "p1", "name": "Mug", "quantity": 1, "unit_price": 1299}],
        "total": 1299, "currency": "USD"})
    browser.cookies.set("mercato_access", "user:ada")
    await browser.get("/")
    r = await browser.post("/checkout", data={
        "name": "Ada", "line1": "", "city": "London", "postal_code": "N1", "country": "GB",
        "card_token": "tok_ok", "idempotency_key": "k" * 20, **csrf_pair(browser)})
    assert r.status_code == 400
    assert 'id="line1-error"' in r.text
    assert 'value="London"' in r.text  # what was typed is kept
    assert not [c for c in api.calls if c["path"] == "/api/v1/orders"]


async def test_checkout_sends_the_forms_idempotency_key(browser, api):
    api.on("POST", "/api/v1/orders", 202, {"id": "o-1", "status": "pending"})
    browser.cookies.set("mercato_access", "user:ada")
    await browser.get("/")
    form = {"name": "Ada", "line1": "1 St", "city": "London", "postal_code": "N1",
            "country": "GB", "card_token": "tok_ok", "idempotency_key": "key-12345678",
            **csrf_pair(browser)}
    r = await browser.post("/checkout", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/orders/o-1"
    placed = next(c for c in api.calls if c["path"] == "/api/v1/orders")
    assert placed["headers"] == {"Idempotency-Key": "key-12345678"}
    assert placed["json"]["from_cart"] is True
    assert placed["json"]["shipping_address"]["line1"] == "1 St"


async def test_unknown_pages_are_404_pages(browser):
    r = await browser.get("/no/such/page")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
