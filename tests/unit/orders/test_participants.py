"""How the saga reads its participants' answers over HTTP."""

from __future__ import annotations

import json

from mercato.chassis import Reply
from mercato.services.orders.adapters.participants import HttpParticipants
from mercato.services.orders.domain.order import Line, Order


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


class Scripted:
    """Answers each path with its scripted reply; records the calls."""

    def __init__(self, answers: dict[str, tuple[int, dict]]) -> None:
        self.answers = answers
        self.paths: list[str] = []

    async def call(self, _service, _method, path, **_kwargs) -> Reply:
        self.paths.append(path.rsplit("/", 1)[-1])
        status, body = self.answers[path.rsplit("/", 1)[-1]]
        return Reply(status, json.dumps(body).encode(), {})


def transition(status: str) -> dict:
    return {**problem("invalid-transition"), "payment_status": status}


async def test_a_void_that_finds_the_payment_captured_refunds_it_instead():
    client = Scripted({"void": (409, transition("captured")), "refund": (200, {})})
    result = await HttpParticipants(client, step_timeout=1).void_payment(order())
    assert result.ok
    assert client.paths == ["void", "refund"]


async def test_a_refund_of_a_payment_never_captured_is_done_but_a_refused_token_is_not():
    done = await HttpParticipants(Scripted({"refund": (409, transition("authorized"))}),
                                  step_timeout=1).refund_payment(order())
    assert done.ok
    for status, body in [(401, problem("unauthorized")), (403, problem("forbidden")),
                         (409, problem("invalid-transition")), (422, problem("x"))]:
        p = HttpParticipants(Scripted({"refund": (status, body)}), step_timeout=1)
        assert (await p.refund_payment(order())).outcome == "transient", status


async def test_releasing_stock_that_was_already_sold_returns_it_instead():
    client = Scripted({"release": (409, problem("already-committed")), "return": (200, {})})
    result = await HttpParticipants(client, step_timeout=1).release_stock(order())
    assert result.ok
    assert client.paths == ["release", "return"]


async def test_undoing_something_unknown_or_tombstoned_is_done():
    for status, body in [(404, problem("not-found")), (409, problem("already-cancelled"))]:
        p = HttpParticipants(Scripted({"cancel": (status, body)}), step_timeout=1)
        assert (await p.cancel_shipment(order())).ok
