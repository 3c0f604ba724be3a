"""Start the whole platform the way a user does (`mercato up`) in a temporary data dir,
and talk to it only over HTTP through the gateway."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ADMIN = {"email": "admin@mercato.local", "password": "mercato-admin"}
ADMIN_TOKEN_REUSE = 600.0  # seconds; access tokens live 900
ADDRESS = {"name": "Ada", "line1": "1 Analytical St", "city": "London",
           "postal_code": "N1", "country": "GB"}

# every `mercato up` this process started: (its data dir's folder, its args, seconds to
# ready or to failing); tests/conftest.py prints them at the end of the session
STARTS: list[tuple[str, tuple[str, ...], float]] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Platform:
    data_dir: Path
    port: int
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    output: Path | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    admin_since: float = 0.0  # when the cached admin token was issued (monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0, *args: str) -> None:
        """``mercato up`` with ``args`` (e.g. ``--replicas``), until it says it is ready."""
        began = time.monotonic()
        try:
            self._start(timeout, args)
        finally:
            STARTS.append((self.data_dir.parent.name, args, time.monotonic() - began))

    def _start(self, timeout: float, args: tuple[str, ...]) -> None:
        self.output = self.data_dir.parent / f"up-{self.port}.out"
        out = self.output.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mercato", "up", *args], env=self.env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output.read_text(errors="replace")
            if "Mercato is ready" in text:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"mercato up exited {self.proc.returncode}:\n{text}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"not ready in {timeout}s:\n{self.output.read_text()}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    # -- helpers speaking the public API ------------------------------------
    def login(self, email: str, password: str) -> str:
        with self.client() as c:
            r = c.post("/api/v1/identity/token", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def admin_token(self) -> str:
        """The admin's access token, logged in again before it expires (15 minutes): a
        session platform lives longer than one token."""
        if time.monotonic() - self.admin_since > ADMIN_TOKEN_REUSE:
            self.tokens.pop("admin", None)
        if "admin" not in self.tokens:
            password = self.env.get("MERCATO_ADMIN_PASSWORD") or ADMIN["password"]
            self.tokens["admin"] = self.login(ADMIN["email"], password)
            self.admin_since = time.monotonic()
        return self.tokens["admin"]

    def new_customer(self) -> tuple[str, dict]:
        email = f"user-{uuid.uuid4().hex[:10]}@example.com"
        with self.client() as c:
            r = c.post("/api/v1/identity/users",
                       json={"email": email, "password": "s3cret-pass", "name": "Test User"})
        assert r.status_code == 201, r.text
        return self.login(email, "s3cret-pass"), r.json()

    def new_product(self, stock: int, price: int = 1000, name: str | None = None,
                    category: str = "tests") -> dict:
        sku = f"SKU-{uuid.uuid4().hex[:12]}"
        with self.client(self.admin_token()) as c:
            r = c.post("/api/v1/catalog/products", json={
                "sku": sku, "name": name or f"Product {sku}", "description": "test",
                "category": category, "price": price, "currency": "USD"})
            assert r.status_code == 201, r.text
            product = r.json()
            if stock:
                r = c.post(f"/api/v1/inventory/stock/{product['id']}/adjustments",
                           json={"delta": stock, "reason": "test stock"})
                assert r.status_code == 200, r.text
        return product

    def stock(self, product_id: str) -> dict:
        with self.client() as c:
            r = c.get(f"/api/v1/inventory/stock/{product_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def order_body(self, product_id: str, quantity: int = 1, card: str = "tok_ok") -> dict:
        return {"items": [{"product_id": product_id, "quantity": quantity}],
                "shipping_address": dict(ADDRESS), "payment": {"card_token": card}}

    def pid_of(self, service: str) -> int:
        """The pid of the one instance of ``service`` (GET /api/v1/ops/services)."""
        with self.client(self.admin_token()) as c:
            items = c.get("/api/v1/ops/services").json()["items"]
        (pid,) = [i["pid"] for i in items if i["service"] == service]
        return pid

    def proxy_guard(self, service: str) -> dict | None:
        """The gateway's breaker, bulkhead and budget for ``service`` (GET
        /api/v1/ops/breakers), or None before the gateway has called it."""
        with self.client(self.admin_token()) as c:
            r = c.get("/api/v1/ops/breakers")
        assert r.status_code == 200, r.text
        found = [b for b in r.json()["items"]
                 if b["scope"] == "proxy" and b["service"] == service]
        assert len(found) <= 1, r.json()
        return found[0] if found else None

    def wait_terminal(self, token: str, order_id: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        with self.client(token) as c:
            while time.monotonic() < deadline:
                r = c.get(f"/api/v1/orders/{order_id}")
                if r.status_code == 503:  # orders is restarting: it says when to retry
                    time.sleep(float(r.headers.get("retry-after", "1")))
                    continue
                assert r.status_code == 200, r.text
                if r.json()["status"] != "pending":
                    return r.json()
                time.sleep(0.05)
        raise AssertionError(f"order {order_id} still pending after {timeout}s")


def wait_for(predicate, timeout: float, what: str, every: float = 0.1):
    """``predicate()`` until it is truthy (and that value), or AssertionError naming
    ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def steady_reads(p: Platform, path: str, stop: threading.Event) -> tuple[int, list[str]]:
    """One client reading ``path`` through the gateway until ``stop``: (requests, failures)."""
    done, failures = 0, []
    with httpx.Client(base_url=p.url, timeout=30) as c:
        while not stop.is_set():
            try:
                r = c.get(path)
                if r.status_code != 200:
                    failures.append(f"GET {r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                failures.append(f"GET {type(exc).__name__}: {exc}")
            done += 1
    return done, failures


def make_platform(tmp: Path, **extra_env: str) -> Platform:
    data_dir = tmp / "data"
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k not in (
        "MERCATO_SERVICE_KEY_FILE", "MERCATO_SERVICE_JWKS_FILE", "MERCATO_CARD_SEAL_KEY_FILE",
        "MERCATO_PAGES_KEY_FILE", "MERCATO_SIGNING_KEY_FILE", "MERCATO_NATS_PORT")}
    env = dict(inherited, MERCATO_DATA_DIR=str(data_dir), MERCATO_GATEWAY_PORT=str(port),
               MERCATO_ENV="development", MERCATO_PROVIDER_TIMEOUT="0.5",
               MERCATO_SAGA_BACKOFF="0.05", MERCATO_LOG_LEVEL="info")
    env.update(extra_env)  # a test's own settings win, secrets it gives included
    return Platform(data_dir, port, env)


def running_platform(tmp_path_factory, name: str, **extra_env: str) -> Iterator[Platform]:
    """A module's own platform (``yield from`` it in a fixture): started with
    ``extra_env``, stopped after the module, and failing the module if `mercato up` did
    not exit cleanly."""
    p = make_platform(tmp_path_factory.mktemp(name), **extra_env)
    p.start()
    yield p
    code = p.stop()
    assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"
