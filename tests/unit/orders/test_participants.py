"""How the saga reads its participants' answers over HTTP."""

from __future__ import annotations

import json

from mercato.chassis import Reply
from mercato.services.orders.domain.order import Line, Order
from mercato.services.orders.saga.participants import HttpParticipants


class OneAnswer:
    def __init__(self, status: int, body: dict) -> None:
        self.reply = Reply(status, json.dumps(body).encode(), {})

    async def call(self, *_args, **_kwargs) -> Reply:
        return self.reply


def order() -> Order:
    return Order.fold(Order.place("o1", "c1", [Line("p1", 1, 100)], "USD", {},
                                  "2026-01-01T00:00:00Z"))


def problem(kind: str) -> dict:
    return {"type": f"https://mercato.dev/problems/{kind}", "detail": kind}


async def test_an_expired_reservation_refused_at_commit_is_final_with_reason_expired():
    p = HttpParticipants(OneAnswer(409, problem("reservation-expired")), step_timeout=1)
    result = await p.confirm_order(order())
    assert (result.outcome, result.reason) == ("rejected", "expired")


async def test_any_other_refused_commit_is_retried():
    p = HttpParticipants(OneAnswer(409, problem("invalid-transition")), step_timeout=1)
    result = await p.confirm_order(order())
    assert (result.outcome, result.reason) == ("transient", None)


async def test_an_expired_reservation_at_reserve_cancels_as_expired_not_out_of_stock():
    p = HttpParticipants(OneAnswer(409, problem("reservation-expired")), step_timeout=1)
    assert (await p.reserve_stock(order())).reason == "expired"
    p = HttpParticipants(OneAnswer(409, problem("out-of-stock")), step_timeout=1)
    result = await p.reserve_stock(order())
    assert (result.outcome, result.reason) == ("rejected", None)
