"""Identity's key routes inside the real chassis app: the CLI's only, shapes, and a
rotation refused while one is in progress."""

from __future__ import annotations

import pytest

from mercato.chassis import create_service
from mercato.services.identity.errors import ERRORS
from mercato.services.identity.key_routes import router
from tests.support.clock import ManualClock
from tests.support.service_http import NO_TOKEN, bearer, caller_token, service_runtime
from tests.support.service_http import client as http_client
from tests.unit.identity.conftest import make_identity


@pytest.fixture
async def app_and_identity(tmp_path):
    clock = ManualClock()
    identity = make_identity(clock=clock)
    runtime = service_runtime("identity", tmp_path)
    app = create_service(runtime, routers=[router], migrations_dir=None, errors=ERRORS)
    app.state.identity = identity
    async with http_client(app) as c:
        c.as_cli = bearer(caller_token(runtime, "cli"))
        c.as_orders = bearer(caller_token(runtime, "orders"))
        yield c, identity, clock


async def test_only_the_cli_may_list_or_rotate_keys(app_and_identity):
    c, identity, _ = app_and_identity
    for method, path in (("GET", "/internal/keys"), ("POST", "/internal/keys/rotate")):
        for caller in (c.as_orders, None):  # another service; the gateway (the default)
            r = await c.request(method, path, headers=caller)
            assert r.status_code == 403, r.text
            assert r.json()["type"].endswith("caller-not-allowed")
        assert (await c.request(method, path, headers=NO_TOKEN)).status_code == 401
    assert [k.kid for k, _ in identity.keys.states()] == [identity.key.kid]  # not rotated


async def test_a_rotation_answers_both_keys_and_a_second_one_is_a_409(app_and_identity):
    c, identity, _ = app_and_identity
    old = identity.key.kid
    r = await c.post("/internal/keys/rotate", headers=c.as_cli)
    assert r.status_code == 200, r.text
    body = r.json()
    new = body["new"]["kid"]
    assert body["new"]["state"] == "pending" and body["previous"]["kid"] == old
    assert body["previous"]["state"] == "active" and body["previous"]["retire_after"]
    r = await c.post("/internal/keys/rotate", headers=c.as_cli)
    assert r.status_code == 409, r.text
    assert r.json()["type"].endswith("rotation-in-progress") and new in r.json()["detail"]
    listed = (await c.get("/internal/keys", headers=c.as_cli)).json()["keys"]
    assert [(k["kid"], k["state"]) for k in listed] == [(old, "active"), (new, "pending")]
