"""Seed a small demo catalog with stock on first start, through the public API."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from mercato.chassis.settings import Settings

DEMO_FILE = Path(__file__).with_name("demo.json")


class SeedError(Exception):
    pass


async def _expect(resp: aiohttp.ClientResponse, *ok: int) -> dict:
    body = await resp.json(content_type=None)
    if resp.status not in ok:
        raise SeedError(f"{resp.method} {resp.url.path} answered {resp.status}: {body}")
    return body or {}


async def seed_demo(gateway_url: str, settings: Settings) -> int:
    """Create the demo products and their stock unless the catalog has products already."""
    async with aiohttp.ClientSession(gateway_url, timeout=aiohttp.ClientTimeout(total=10)) as s:
        async with s.get("/api/v1/catalog/products", params={"limit": "1"}) as r:
            if (await _expect(r, 200)).get("items"):
                return 0
        creds = {"email": settings.admin_email, "password": settings.admin_password}
        async with s.post("/api/v1/identity/token", json=creds) as r:
            token = (await _expect(r, 200))["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        items = json.loads(DEMO_FILE.read_text())
        for item in items:
            stock = item.pop("stock")
            async with s.post("/api/v1/catalog/products", json=dict(item, currency="USD"),
                              headers=auth) as r:
                product = await _expect(r, 201)
            async with s.post(f"/api/v1/inventory/stock/{product['id']}/adjustments",
                              json={"delta": stock, "reason": "demo stock"}, headers=auth) as r:
                await _expect(r, 200)
        return len(items)
