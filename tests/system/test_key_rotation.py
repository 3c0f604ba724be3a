"""`mercato keys rotate` on a running platform (two identity replicas sharing their
database): sessions making authenticated requests through the gateway all along see no
401; new tokens carry the new kid while tokens signed before still verify; once the old
key has retired it is gone from the JWKS, its private half from identity's database and
its development key file from the disk, and a token signed with it is refused."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from mercato.services.identity.keys import DEV_KEY_NAME
from tests.system.platform import Platform, make_platform, wait_for

ACCESS_TTL = 5  # seconds: sessions refresh often, and the old key retires within a minute
SESSIONS = 4
PATHS = ("/api/v1/identity/users/me", "/api/v1/cart")  # verified by the gateway, identity
# and cart, each with its own copy of the JWKS


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    p = make_platform(tmp_path_factory.mktemp("key-rotation"),
                      MERCATO_ACCESS_TOKEN_TTL=str(ACCESS_TTL))
    p.start(180.0, "--replicas", "identity=2")
    yield p
    code = p.stop()
    assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"


def mercato(p: Platform, *args: str) -> subprocess.CompletedProcess:
    """A `mercato` command as an operator runs it, on the platform's data dir."""
    return subprocess.run([sys.executable, "-m", "mercato", *args], env=p.env,
                          capture_output=True, text=True, timeout=120)


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def sign_up(p: Platform) -> dict:
    """A new customer's tokens (access and refresh)."""
    email = f"session-{uuid.uuid4().hex[:10]}@example.com"
    with p.client() as c:
        r = c.post("/api/v1/identity/users",
                   json={"email": email, "password": "s3cret-pass", "name": "Session"})
        assert r.status_code == 201, r.text
        r = c.post("/api/v1/identity/token", json={"email": email, "password": "s3cret-pass"})
    assert r.status_code == 200, r.text
    return r.json()


def refreshed(c: httpx.Client, tokens: dict) -> dict:
    r = c.post("/api/v1/identity/token/refresh",
               json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200, r.text
    return r.json()


@dataclass
class Session:
    """A signed-in customer making requests steadily, refreshing their access token as a
    client does when it expires."""

    p: Platform
    tokens: dict
    statuses: Counter = field(default_factory=Counter)
    refusals: list[str] = field(default_factory=list)
    kids: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(base_url=self.p.url, timeout=30) as c:
            n = 0
            while not stop.is_set():
                token = self.tokens["access_token"]
                if claims_of(token)["exp"] <= time.time():
                    self.tokens = refreshed(c, self.tokens)
                    continue
                if not self.kids or self.kids[-1] != kid_of(token):
                    self.kids.append(kid_of(token))
                path = PATHS[n % len(PATHS)]
                n += 1
                r = c.get(path, headers={"Authorization": f"Bearer {token}"})
                self.statuses[r.status_code] += 1
                if r.status_code != 200:
                    self.refusals.append(f"{path} {r.status_code} {r.text[:200]}")
                time.sleep(0.02)


def jwks_kids(p: Platform) -> list[str]:
    with p.client() as c:
        r = c.get("/.well-known/jwks.json")
    assert r.status_code == 200, r.text
    return [k["kid"] for k in r.json()["keys"]]


def me(p: Platform, token: str) -> httpx.Response:
    with p.client(token) as c:
        return c.get("/api/v1/identity/users/me")


def keys_listed(p: Platform) -> dict[str, str]:
    result = mercato(p, "keys", "list", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return {k["kid"]: k["state"] for k in json.loads(result.stdout)["keys"]}


def test_sessions_live_through_a_rotation_and_the_old_key_then_retires(platform: Platform):
    p = platform
    dev_key = p.data_dir / "identity" / DEV_KEY_NAME
    old_private = load_pem_private_key(dev_key.read_bytes(), None)  # the first key
    sessions = [Session(p, sign_up(p)) for _ in range(SESSIONS)]
    old_kid = kid_of(sessions[0].tokens["access_token"])
    assert keys_listed(p) == {old_kid: "active"}
    stop = threading.Event()
    threads = [threading.Thread(target=s.run, args=(stop,), daemon=True) for s in sessions]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: all(sum(s.statuses.values()) >= 5 for s in sessions), 60,
                 "every session's first requests")
        watcher = sign_up(p)
        before = watcher["access_token"]  # signed with the old key; lives ACCESS_TTL

        rotated = mercato(p, "keys", "rotate", "--json")
        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        rotation = json.loads(rotated.stdout)
        new_kid = rotation["new"]["kid"]
        assert rotation["previous"]["kid"] == old_kid and new_kid != old_kid
        with p.client(p.admin_token()) as c:  # the operator's command is in the trail
            trail = c.get("/api/v1/ops/audit", params={"limit": 5})
        assert trail.status_code == 200, trail.text
        entry = next(e for e in trail.json()["items"] if e["method"] == "CLI")
        assert entry["path"] == "mercato keys rotate" and entry["status"] == 0, entry
        assert entry["detail"] == f"new key {new_kid}", entry
        assert entry["actor"].startswith("operator:"), entry
        # Published by both replicas (each reads the table once a second) before it signs.
        wait_for(lambda: all(set(jwks_kids(p)) == {old_kid, new_kid} for _ in range(4)), 30,
                 "the new key in the JWKS")

        # New tokens carry the new kid (whichever replica signs them), old ones verify.
        with p.client() as c:
            def signs_with_new_key():
                nonlocal watcher
                watcher = refreshed(c, watcher)
                return kid_of(watcher["access_token"]) == new_kid
            wait_for(signs_with_new_key, 60, "tokens signed with the new key", every=0.5)
            for _ in range(4):  # both replicas, by the balancer's turns
                watcher = refreshed(c, watcher)
                assert kid_of(watcher["access_token"]) == new_kid
        assert me(p, watcher["access_token"]).status_code == 200
        if claims_of(before)["exp"] + 30 > time.time():  # 30: the verifiers' clock skew
            r = me(p, before)
            assert r.status_code == 200, r.text
        assert keys_listed(p) == {old_kid: "verify-only", new_kid: "active"}

        wait_for(lambda: jwks_kids(p) == [new_kid], 120, "the old key to retire", every=0.5)
        wait_for(lambda: all(s.kids[-1] == new_kid and sum(s.statuses.values()) > 0
                             for s in sessions), 60, "every session on the new key")
    finally:
        stop.set()
        for t in threads:
            t.join(60)

    for s in sessions:
        assert s.statuses[401] == 0, s.refusals
        assert s.refusals == [], s.refusals
        assert s.kids[0] == old_kid and s.kids[-1] == new_kid, s.kids
    # Retired: a token its key signs now is refused, and nothing keeps that key any more.
    claims = {**claims_of(watcher["access_token"]), "roles": ["customer", "admin"],
              "exp": int(time.time()) + 600}
    forged = jwt.encode(claims, old_private, algorithm="EdDSA", headers={"kid": old_kid})
    r = me(p, forged)
    assert r.status_code == 401, r.text
    assert keys_listed(p) == {old_kid: "retired", new_kid: "active"}
    shown = mercato(p, "keys", "list")  # the table an operator reads
    assert shown.returncode == 0, shown.stderr
    assert "retired" in shown.stdout and "active" in shown.stdout and new_kid in shown.stdout
    wait_for(lambda: not dev_key.exists(), 30, "the development key file to be deleted")
    with sqlite3.connect(p.data_dir / "identity" / "identity.db") as db:
        rows = dict(db.execute("SELECT kid, private_pem IS NOT NULL FROM signing_keys"))
    assert rows == {old_kid: 0, new_kid: 1}
