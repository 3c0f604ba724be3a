"""A platform of the chaos run's own: ``mercato up --fault-proxies --no-seed`` in a
temporary data dir, a free gateway port, one saga mode, started as a child process group
of its own and always stopped (``stop`` is safe to call twice, and from a ``finally`` on
Ctrl-C). It is seeded with a catalog of its own with plenty of stock, so that a long run
is not a run of ``out_of_stock`` cancellations (the demo catalog holds 258 units).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from mercato.chaos.faults import crash_points, platform_env, prepare, release
from mercato.chassis.settings import Settings, load_settings

PRODUCTS = ("Anvil", "Barometer", "Compass", "Dynamo", "Easel", "Funnel", "Gimbal",
            "Hammock", "Inkwell", "Jigsaw", "Kettle", "Lantern")
STOCK = 5000  # units of each product
READY_WAIT = 180.0  # seconds `mercato up` may take to say it is ready
# Settings that would point the child at another platform's keys or broker.
INHERITED_NOT = ("MERCATO_SERVICE_KEY_FILE", "MERCATO_SERVICE_JWKS_FILE",
                 "MERCATO_CARD_SEAL_KEY_FILE", "MERCATO_PAGES_KEY_FILE",
                 "MERCATO_SIGNING_KEY_FILE", "MERCATO_NATS_PORT", "MERCATO_NATS_URL",
                 "MERCATO_NATS_NKEY_FILE", "MERCATO_DATABASE_URL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChaosPlatform:
    def __init__(self, workdir: Path, mode: str, step_deadline: float,
                 nats_nodes: int = 1) -> None:
        self.data_dir = (Path(workdir) / "data").resolve()
        self.output = Path(workdir) / "up.out"
        self.port = free_port()
        self.step_deadline = step_deadline
        env = {k: v for k, v in os.environ.items() if k not in INHERITED_NOT}
        self.env = env | {
            "MERCATO_DATA_DIR": str(self.data_dir), "MERCATO_GATEWAY_PORT": str(self.port),
            "MERCATO_ENV": "development", "MERCATO_SAGA_MODE": mode,
            "MERCATO_SAGA_STEP_DEADLINE": f"{step_deadline:g}",
            "MERCATO_NATS_CLUSTER": str(nats_nodes),
            "MERCATO_FAULT_DIR": str(crash_points(self.data_dir))} | platform_env()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> Settings:
        """This platform's settings, for the checks run from this process."""
        return load_settings(data_dir=self.data_dir, gateway_port=self.port,
                             service_key_file=None, service_jwks_file=None,
                             nats_nkey_file=None)

    async def start(self) -> None:
        """``mercato up`` until it says it is ready; RuntimeError with its output if not."""
        self._spawn()
        deadline = time.monotonic() + READY_WAIT
        while time.monotonic() < deadline:
            if "Mercato is ready" in self.output.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"mercato up exited {self.proc.returncode}; see {self.output}")
            await asyncio.sleep(0.3)
        raise RuntimeError(f"mercato up not ready in {READY_WAIT:g}s; see {self.output}")

    def _spawn(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        prepare(self.data_dir)  # e.g. F9's small filesystems, before any file is made
        crash_points(self.data_dir).mkdir(parents=True, exist_ok=True)
        with self.output.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mercato", "up", "--fault-proxies", "--no-seed"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGINT to ``mercato up`` (it stops its children), SIGKILL to the whole group
        if it has not exited within ``timeout``; its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything left in the group
        code = self.proc.wait()
        release(self.data_dir)
        return code

    async def seed(self) -> int:
        """Create the run's catalog and its stock through the admin API; products made."""
        settings = self.settings()
        creds = {"email": settings.admin_email, "password": settings.admin_password}
        async with aiohttp.ClientSession(self.url,
                                         timeout=aiohttp.ClientTimeout(total=15)) as http:
            async with http.post("/api/v1/identity/token", json=creds) as r:
                token = (await _expect(r, 200))["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            for n, name in enumerate(PRODUCTS):
                body = {"sku": f"CHAOS-{n:03d}", "name": f"Chaos {name}",
                        "description": f"a {name.lower()} for the chaos run",
                        "category": "chaos", "price": 500 + 250 * n, "currency": "USD"}
                async with http.post("/api/v1/catalog/products", json=body,
                                     headers=auth) as r:
                    product = await _expect(r, 201)
                async with http.post(f"/api/v1/inventory/stock/{product['id']}/adjustments",
                                     json={"delta": STOCK, "reason": "chaos stock"},
                                     headers=auth) as r:
                    await _expect(r, 200)
            await _listed(http, len(PRODUCTS))
        return len(PRODUCTS)


async def _listed(http: aiohttp.ClientSession, count: int, seconds: float = 20.0) -> None:
    """Wait until the public catalog lists ``count`` products (the load reads it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        async with http.get("/api/v1/catalog/products", params={"limit": "100"}) as r:
            if r.status == 200 and len((await r.json()).get("items", [])) >= count:
                return
        await asyncio.sleep(0.3)
    raise RuntimeError(f"the catalog does not list the {count} products after {seconds:g}s")


async def _expect(resp: aiohttp.ClientResponse, status: int) -> dict:
    if resp.status != status:
        raise RuntimeError(f"{resp.method} {resp.url.path} answered {resp.status}: "
                           f"{(await resp.text())[:200]}")
    return await resp.json()
