"""The simulator's HTTP face (aiohttp), over its ``Ledger``.

    POST /authorizations            {reference, token, amount, currency}
    POST /authorizations/{id}/capture  {amount}     POST .../refund {amount}
    POST /authorizations/{id}/void
    GET  /authorizations?reference=R   the authorization made for our reference (lookup)
    GET  /ledger                       every authorization with its entries
    GET  /health/live

Every POST carries an ``Idempotency-Key`` that must be the call's natural key
(``authorize:<reference>``, ``<action>:<authorization id>``): the ledger is idempotent on
exactly that key, and a client that sent another would believe in a protection it does
not have. Each answer first waits ``latency`` seconds; a ``tok_slow`` authorization is
kept at once but answered only after ``slow_delay`` (every time it is asked).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import web

from mercato.simulators.provider.ledger import Answer, Ledger

LEDGER = web.AppKey("ledger", Ledger)


def create_app(ledger: Ledger, *, latency: float = 0.0, slow_delay: float = 5.0
               ) -> web.Application:
    async def answer(found: Answer) -> web.Response:
        if latency > 0:
            await asyncio.sleep(latency)
        if found.slow:
            await asyncio.sleep(slow_delay)
        return web.json_response(found.body, status=found.status)

    async def body_of(request: web.Request, key: str) -> dict | web.Response:
        if request.headers.get("Idempotency-Key") != key:
            return web.json_response({"error": "bad-idempotency-key", "expected": key},
                                     status=400)
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return web.json_response({"error": "bad-json"}, status=400)
        return body if isinstance(body, dict) else web.json_response(
            {"error": "bad-json"}, status=400)

    async def authorize(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
            reference, token = str(body["reference"]), str(body["token"])
            amount, currency = int(body["amount"]), str(body["currency"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "bad-request"}, status=400)
        if request.headers.get("Idempotency-Key") != f"authorize:{reference}":
            return web.json_response({"error": "bad-idempotency-key"}, status=400)
        return await answer(ledger.authorize(reference, token, amount, currency))

    def mover(action: str):
        async def move(request: web.Request) -> web.Response:
            auth_id = request.match_info["id"]
            body = await body_of(request, f"{action}:{auth_id}")
            if isinstance(body, web.Response):
                return body
            amount = body.get("amount")
            if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
                return web.json_response({"error": "bad-request"}, status=400)
            return await answer(ledger.move(action, auth_id, amount))
        return move

    async def lookup(request: web.Request) -> web.Response:
        return await answer(ledger.lookup(request.query.get("reference", "")))

    async def everything(_request: web.Request) -> web.Response:
        return web.json_response({"authorizations": ledger.everything()})

    async def live(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app[LEDGER] = ledger
    app.router.add_post("/authorizations", authorize)
    for action in ("capture", "void", "refund"):
        app.router.add_post(f"/authorizations/{{id}}/{action}", mover(action))
    app.router.add_get("/authorizations", lookup)
    app.router.add_get("/ledger", everything)
    app.router.add_get("/health/live", live)
    return app


def serve_provider(data_dir: Path, port: int, *, host: str = "127.0.0.1",
                   latency: float = 0.0, slow_delay: float = 5.0) -> None:
    """Serve until SIGINT/SIGTERM; the ledger in ``data_dir/provider/ledger.sqlite3``."""
    ledger = Ledger(data_dir / "provider" / "ledger.sqlite3")
    try:
        web.run_app(create_app(ledger, latency=latency, slow_delay=slow_delay), host=host,
                    port=port, print=None, access_log=None, shutdown_timeout=2)
    finally:
        ledger.close()
