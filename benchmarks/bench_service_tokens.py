"""Micro-benchmark: what does workload identity cost per service-to-service call?

Before issue 11 every service signed HS256 tokens with one shared secret (one token per
process, any audience); now each workload signs EdDSA tokens with its own key, one per
target service (chassis/identity/tokens.py). Both sides cache: the caller reuses a token
until a minute before it expires, the receiver remembers a verified token until its exp.
Variants, interleaved over --rounds rounds, median per operation:

  mint (cached)     the caller's lookup on every call          old: one token, new: per aud
  verify (cached)   the receiver's lookup on every call
  mint (cold)       a signature, once per target every ~4 min
  verify (cold)     a signature check, once per token
  request           one in-process request (httpx ASGI transport) to a FastAPI route
                    behind the receiver's dependency: old HS256 check vs the chassis'
                    ``caller`` dependency (which also reads X-Mercato-User)

The baseline (old) path is kept in this script as it was (``security.ServiceTokens``).

Run:  python benchmarks/bench_service_tokens.py          (about 20 s)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI, Request
from rich.console import Console
from rich.table import Table

from mercato.chassis.identity import ServiceIdentity, ServiceKeys, public_jwk
from mercato.chassis.security import Principal, Verified, bearer_token
from mercato.chassis.web.deps import caller

SECRET = "s" * 43


class OldServiceTokens:
    """The HS256 path before issue 11, as it was (baseline)."""

    def __init__(self, service: str) -> None:
        self._service, self._cached, self.verified = service, ("", 0.0), Verified()

    def token(self, _audience: str = "") -> str:
        value, expires = self._cached
        now = time.time()
        if now > expires - 60:
            claims = {"sub": self._service, "aud": "mercato-internal", "iat": int(now),
                      "exp": int(now + 300), "kind": "service"}
            value = jwt.encode(claims, SECRET, algorithm="HS256")
            self._cached = (value, now + 300)
        return value

    def verify(self, token: str) -> Principal:
        known = self.verified.get(token)
        if known is not None:
            return known
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="mercato-internal",
                            options={"require": ["exp", "sub", "aud"]}, leeway=30)
        principal = Principal(claims["sub"], frozenset({"service"}), kind="service")
        self.verified.put(token, principal, float(claims["exp"]))
        return principal


def identities() -> tuple[ServiceIdentity, ServiceIdentity]:
    keys = {n: Ed25519PrivateKey.generate() for n in ("orders", "payments")}
    jwks = {"keys": [public_jwk(n, k) for n, k in keys.items()]}
    made = [ServiceIdentity(n, k, public_jwk(n, k)["kid"], ServiceKeys(lambda: jwks))
            for n, k in keys.items()]
    return made[0], made[1]


def per_op(fn, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def app_with(dependency, receiver) -> FastAPI:
    app = FastAPI()
    app.state.runtime = type("R", (), {"identity": receiver, "verifier": None})()

    @app.post("/internal/x")
    async def route(_c=Depends(dependency)) -> dict:
        return {}
    return app


async def request_us(app: FastAPI, token: str, n: int) -> float:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        await c.post("/internal/x")
        started = time.perf_counter()
        for _ in range(n):
            await c.post("/internal/x")
        return (time.perf_counter() - started) / n * 1e6


def measure(n: int) -> dict[str, tuple[float, float]]:
    old_a, old_b = OldServiceTokens("orders"), OldServiceTokens("payments")
    new_a, new_b = identities()
    old_tok, new_tok = old_a.token(), new_a.token("payments")
    old_b.verify(old_tok), new_b.verify(new_tok)

    async def old_dep(request: Request) -> Principal:
        return old_b.verify(bearer_token(request.headers.get("authorization")))

    row = {
        "mint (cached)": (per_op(old_a.token, n), per_op(lambda: new_a.token("payments"), n)),
        "verify (cached)": (per_op(lambda: old_b.verify(old_tok), n),
                            per_op(lambda: new_b.verify(new_tok), n)),
    }
    cold = max(n // 20, 50)

    def old_mint():
        old_a._cached = ("", 0.0)
        old_a.token()

    def new_mint():
        new_a._minted.clear()
        new_a.token("payments")

    def old_check():
        old_b.verified.clear()
        old_b.verify(old_tok)

    def new_check():
        new_b.verified.clear()
        new_b.verify(new_tok)

    row["mint (cold)"] = (per_op(old_mint, cold), per_op(new_mint, cold))
    row["verify (cold)"] = (per_op(old_check, cold), per_op(new_check, cold))
    requests = max(n // 50, 200)
    row["request"] = (asyncio.run(request_us(app_with(old_dep, old_b), old_tok, requests)),
                      asyncio.run(request_us(app_with(caller, new_b), new_tok, requests)))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-n", type=int, default=20_000, help="operations per cached variant")
    args = parser.parse_args()
    console = Console(stderr=True)
    rounds = []
    for r in range(args.rounds):
        console.print(f"round {r + 1}/{args.rounds}")
        rounds.append(measure(args.n))
    table = Table(title="Service tokens: µs per operation (median of rounds)")
    for column in ("operation", "old HS256, shared secret", "new EdDSA, per target", "ratio"):
        table.add_column(column, justify="right" if column != "operation" else "left")
    for op in rounds[0]:
        old = statistics.median(x[op][0] for x in rounds)
        new = statistics.median(x[op][1] for x in rounds)
        table.add_row(op, f"{old:.2f}", f"{new:.2f}", f"{new / old:.2f}×")
    Console().print(table)


if __name__ == "__main__":
    main()
