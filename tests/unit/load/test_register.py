"""The load's customers are registered before it starts; a busy identity service that
answers 503 (past the gateway's deadline, having registered or not) does not sink the
run: each customer is tried again, and a 409 on the retry means the first try did
register."""

from __future__ import annotations

import contextlib

import pytest

from mercato.load.runner import SETUP_ATTEMPTS, SetupFailed, register_customers


class FakeResponse:
    def __init__(self, status: int, body=None) -> None:
        self.status, self.body = status, body or {}

    async def json(self, content_type=None):
        return self.body


class BusyIdentity:
    """The first ``busy`` registrations of each email answer 503; with ``registers`` the
    503 came after the user was stored (a retry then meets 409)."""

    def __init__(self, busy: int, registers: bool) -> None:
        self.busy, self.registers = busy, registers
        self.tries: dict[str, int] = {}
        self.users: set[str] = set()

    @contextlib.asynccontextmanager
    async def request(self, method, path, headers=None, json=None, **kwargs):
        email = json["email"]
        if path == "/api/v1/identity/token":
            yield FakeResponse(200 if email in self.users else 401,
                               {"access_token": f"t-{email}"})
            return
        self.tries[email] = self.tries.get(email, 0) + 1
        if email in self.users:
            yield FakeResponse(409)
        elif self.tries[email] <= self.busy:
            if self.registers:
                self.users.add(email)
            yield FakeResponse(503)
        else:
            self.users.add(email)
            yield FakeResponse(201)


async def no_sleep(seconds: float) -> None:
    pass


@pytest.mark.parametrize("registers", [False, True])
async def test_a_503_is_tried_again_and_a_409_then_counts_as_registered(registers):
    identity = BusyIdentity(busy=1, registers=registers)
    customers = await register_customers(identity, 3, lambda: 0.0, sleep=no_sleep)
    assert len(customers) == 3 and all(c.token.startswith("t-") for c in customers)
    assert set(identity.tries.values()) == {2}


async def test_a_customer_that_never_registers_is_left_out_and_none_at_all_fails():
    with pytest.raises(SetupFailed, match="answered 503"):
        await register_customers(BusyIdentity(busy=SETUP_ATTEMPTS, registers=False), 2,
                                 lambda: 0.0, sleep=no_sleep)
