"""``mercato keys``' side of a call to identity: what the operator reads, and the exit
code, for a rotation, a list, a refusal and an identity that cannot be reached."""

from __future__ import annotations

import json

from rich.console import Console

from mercato.chassis.calls.client import Reply, Unavailable
from mercato.cli.keys import ask

KID_NEW, KID_OLD = "new-kid-" + "n" * 35, "old-kid-" + "o" * 35


class FakeIdentityClient:
    def __init__(self, reply: Reply | None) -> None:
        self.reply = reply
        self.calls: list[tuple[str, str]] = []

    async def call(self, service: str, method: str, path: str, **_) -> Reply:
        self.calls.append((method, path))
        if self.reply is None:
            raise Unavailable("identity", "no instance registered")
        return self.reply


def answer(status: int, body: dict) -> Reply:
    return Reply(status=status, body=json.dumps(body).encode(), headers={})


def console() -> Console:
    return Console(record=True, width=200, force_terminal=False)


async def test_a_rotation_says_when_the_new_key_signs_and_the_old_one_retires():
    out = console()
    client = FakeIdentityClient(answer(200, {
        "new": {"kid": KID_NEW, "activates_at": "2026-01-01T00:00:05Z"},
        "previous": {"kid": KID_OLD, "retire_after": "2026-01-01T00:15:40Z"}}))
    assert await ask(client, out, "POST", "/internal/keys/rotate") == 0
    text = out.export_text()
    assert f"new key {KID_NEW}" in text and "2026-01-01T00:00:05Z" in text
    assert f"previous key {KID_OLD}" in text and "2026-01-01T00:15:40Z" in text
    assert client.calls == [("POST", "/internal/keys/rotate")]


async def test_the_list_is_a_table_of_every_key_and_its_state():
    out = console()
    keys = [{"kid": KID_OLD, "state": "verify-only", "created_at": "t0", "activates_at": "t0",
             "retire_after": "t9", "retired_at": None},
            {"kid": KID_NEW, "state": "active", "created_at": "t1", "activates_at": "t2",
             "retire_after": None, "retired_at": None}]
    assert await ask(FakeIdentityClient(answer(200, {"keys": keys})), out, "GET",
                     "/internal/keys") == 0
    lines = out.export_text().splitlines()
    (old,) = [line for line in lines if KID_OLD in line]
    (new,) = [line for line in lines if KID_NEW in line]
    assert "verify-only" in old and "t9" in old
    assert "active" in new and "t2" in new


async def test_a_refused_rotation_exits_1_with_identitys_reason():
    out = console()
    reply = answer(409, {"detail": "key k becomes active at t; rotate again after that"})
    assert await ask(FakeIdentityClient(reply), out, "POST", "/internal/keys/rotate") == 1
    text = out.export_text()
    assert "409" in text and "rotate again after that" in text


async def test_an_unreachable_identity_exits_1_and_says_so():
    out = console()
    assert await ask(FakeIdentityClient(None), out, "GET", "/internal/keys") == 1
    assert "identity cannot be reached" in out.export_text()


async def test_json_prints_identitys_answer_as_it_is():
    out = console()
    body = {"keys": []}
    assert await ask(FakeIdentityClient(answer(200, body)), out, "GET", "/internal/keys",
                     as_json=True) == 0
    assert json.loads(out.export_text()) == body
