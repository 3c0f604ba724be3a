"""OWASP API7:2023 Server Side Request Forgery, against the running platform.

No input makes the platform fetch a URL: a local HTTP listener (127.0.0.1, a free port)
is named in every free-text field a client or an admin can fill (a user's name, an
address, a product's name, description and category, search text, a card token, a
refresh token, fields that other APIs use for callbacks) and in the headers a proxy or
a careless service might follow (X-Forwarded-Host, Referer, Origin, Forwarded, a
`jku` in a token), then the order runs to its end and the messages are sent: the
listener received nothing.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.security.helpers import customer
from tests.system.platform import ADDRESS, Platform, free_port, wait_for


class Listener:
    """An HTTP server on 127.0.0.1 that notes every request it gets."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hits: list[str] = []
        hits = self.hits

        class Note(BaseHTTPRequestHandler):
            def _note(self) -> None:
                hits.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.end_headers()

            do_GET = do_POST = do_HEAD = do_PUT = _note

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Note)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    with Listener() as it:
        yield it


def test_the_listener_hears_a_request(listener: Listener):
    """The control: a request that does reach it is noted."""
    import httpx

    httpx.get(listener.url + "/control", timeout=5)
    assert listener.hits == ["GET /control"]
    listener.hits.clear()


def test_no_field_or_header_makes_the_platform_fetch_a_url(platform: Platform,
                                                          listener: Listener):
    url = listener.url
    headers = {"X-Forwarded-Host": f"127.0.0.1:{listener.port}", "Referer": url + "/ref",
               "Origin": url, "Forwarded": f"host=127.0.0.1:{listener.port}",
               "X-Forwarded-Proto": "http", "X-Original-URL": url + "/orig",
               "X-Callback-URL": url + "/cb", "Link": f"<{url}/link>; rel=preload"}
    # an admin's product whose every text is the URL
    with platform.client(platform.admin_token()) as c:
        r = c.post("/api/v1/catalog/products", headers=headers, json={
            "sku": f"SSRF-{listener.port}", "name": url + "/name",
            "description": f"{url}/description <img src='{url}/img'>",
            "category": url + "/category", "price": 100, "currency": "USD"})
        assert r.status_code == 201, r.text
        product = r.json()
        c.patch(f"/api/v1/catalog/products/{product['id']}", headers=headers,
                json={"description": url + "/patched"})
        for extra in ({"image_url": url + "/image"}, {"callback": url + "/cb"}):
            r = c.patch(f"/api/v1/catalog/products/{product['id']}", json=extra)
            assert r.status_code == 422, r.text
        r = c.post(f"/api/v1/inventory/stock/{product['id']}/adjustments", headers=headers,
                   json={"delta": 3, "reason": url + "/reason"})
        assert r.status_code == 200, r.text
    # a customer whose name, address and search text are the URL
    with platform.client() as c:
        email = f"ssrf-{listener.port}@example.com"
        r = c.post("/api/v1/identity/users", headers=headers,
                   json={"email": email, "password": "s3cret-pass", "name": url + "/name"})
        assert r.status_code == 201, r.text
        for extra in ({"callback": url + "/cb"}, {"url": url + "/u"},
                      {"avatar_url": url + "/a"}, {"webhook": url + "/w"}):
            r = c.post("/api/v1/identity/users", json={
                "email": "x" + email, "password": "s3cret-pass", "name": "X", **extra})
            assert r.status_code == 422, r.text
        token = c.post("/api/v1/identity/token", headers=headers, json={
            "email": email, "password": "s3cret-pass"}).json()["access_token"]
        c.post("/api/v1/identity/token/refresh", json={"refresh_token": url + "/refresh"})
        c.get("/api/v1/catalog/products", headers=headers, params={"q": url + "/q"})
        c.get("/api/v1/catalog/products", params={"category": url + "/category"})
        c.get("/api/v1/catalog/products", params={"cursor": base64.b64encode(
            json.dumps({"url": url + "/cursor"}).encode()).decode()})
        c.get(f"/api/v1/catalog/products/{url}")
        c.get("/.well-known/jwks.json", headers=headers)
        for page in ("/", f"/products/{product['id']}", "/console"):
            c.get(page, headers=headers)
    with platform.client(token) as c:
        c.put(f"/api/v1/cart/items/{product['id']}", headers=headers, json={"quantity": 1})
        address = {**ADDRESS, "name": url + "/n", "line1": url + "/l", "city": url,
                   "postal_code": "N1"}
        for card in (url + "/card", "tok_ok"):
            r = c.post("/api/v1/orders", headers=headers, json={
                "items": [{"product_id": product["id"], "quantity": 1}],
                "shipping_address": address, "payment": {"card_token": card}})
            assert r.status_code == 202, r.text
            order = platform.wait_terminal(token, r.json()["id"])
        assert order["status"] == "confirmed", order
        r = c.post("/api/v1/orders", json={
            "items": [{"product_id": product["id"], "quantity": 1}],
            "shipping_address": address, "payment": {"card_token": "tok_ok"},
            "callback_url": url + "/cb"})
        assert r.status_code == 422, r.text
        # its messages are sent (to the customer named by the URL) before we look
        wait_for(lambda: len(c.get("/api/v1/notifications").json()["items"]) >= 3, 20,
                 "the order's messages")
        c.get(f"/api/v1/storefront/orders/{order['id']}", headers=headers)
        c.get("/api/v1/notifications", headers=headers)
    assert listener.hits == []


def test_a_token_pointing_at_keys_elsewhere_is_not_followed(platform: Platform,
                                                          listener: Listener):
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    user = customer(platform)
    claims = jwt.decode(user.token, options={"verify_signature": False})
    for header in ({"kid": "fresh-kid", "jku": listener.url + "/jwks.json"},
                   {"kid": "fresh-kid-2", "x5u": listener.url + "/cert.pem"},
                   {"kid": listener.url + "/kid"}):
        token = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                           headers=header)
        with platform.client(token) as c:
            assert c.get("/api/v1/identity/users/me").status_code == 401
    assert listener.hits == []
