"""F8's parts that need no platform: the toxics it sets (answers late past the timeout,
sometimes requests too) and the comparison of the provider's ledger with payments' and
orders' facts (captured for no paid order, held for an ended one)."""

from __future__ import annotations

import json
import random

from mercato.chaos.faults import FAULTS, platform_env
from mercato.chaos.faults.base import Target
from mercato.chaos.faults.provider import LyingProvider
from mercato.chaos.faults.provider_ledger import compare
from mercato.contracts.ids import payment_id


class Recorded(Target):
    async def control(self, op: str, **args):
        self.sent.append((op, args))
        return [{"name": "provider-payments"}]


def target(tmp_path, seed: int) -> Recorded:
    (tmp_path / "run").mkdir(exist_ok=True)
    (tmp_path / "run" / "state.json").write_text(json.dumps(
        {"nats_url": "nats://x", "provider_url": "http://p", "provider_timeout": 0.5}))
    t = Recorded(data_dir=tmp_path, rng=random.Random(seed), step_deadline=3.0)
    t.sent = []
    return t


async def test_f8_delays_the_answers_past_the_providers_timeout(tmp_path):
    assert FAULTS["F8"] is LyingProvider
    assert platform_env()["MERCATO_PROVIDER_DOUBT_GRACE"] == "2"
    kinds = set()
    for seed in range(20):
        t = target(tmp_path, seed)
        said = await LyingProvider().inject(t)
        ((op, args),) = t.sent
        assert op == "fault" and args["proxy"] == "provider-payments"
        assert args["set"]["downstream"]["latency_ms"] >= 800  # past 0.5 s, by 0.3 s at least
        kinds.add("upstream" in args["set"])
        assert "late" in said
    assert kinds == {True, False}  # lying (answers only) and slow (both ways) both drawn


def order(n: int, status: str, total: int = 500) -> dict:
    return {"order_id": f"o{n}", "status": status, "total": total}


def auth(n: int, status: str, kinds: list[str], amount: int = 500) -> dict:
    return {"reference": payment_id(f"o{n}"), "status": status, "amount": amount,
            "entries": [{"kind": k} for k in kinds]}


def pay(n: int, status: str, amount: int = 500) -> dict:
    return {"payment_id": payment_id(f"o{n}"), "status": status, "amount": amount}


def test_a_ledger_that_agrees_has_no_violation():
    v = compare([auth(1, "captured", ["authorize", "capture"]),
                 auth(2, "voided", ["authorize", "void"]),
                 auth(3, "refunded", ["authorize", "capture", "refund"])],
                [pay(1, "captured"), pay(3, "voided")],
                [order(1, "confirmed"), order(2, "cancelled"), order(3, "cancelled")])
    assert (v.money, v.held) == ([], [])


def test_each_disagreement_is_named_under_its_promise():
    v = compare([auth(1, "captured", ["authorize", "capture"]),
                 auth(2, "captured", ["authorize", "capture"]),
                 auth(3, "authorized", ["authorize"]),
                 auth(4, "captured", ["authorize", "capture"], amount=400),
                 auth(5, "voided", ["authorize", "void"])],
                [pay(1, "captured"), pay(4, "captured"), pay(5, "captured")],
                [order(1, "confirmed"), order(2, "cancelled"), order(3, "cancelled"),
                 order(4, "confirmed"), order(5, "confirmed")])
    assert len(v.held) == 1 and "still open" in v.held[0]
    assert len(v.money) == 3
    assert any("not refunded" in m for m in v.money)  # captured for a cancelled order
    assert any("captured 400" in m for m in v.money)  # the amounts disagree
    assert any("the provider voided" in m for m in v.money)  # captured here, not there


def test_orders_shipped_or_delivered_are_paid_for_too():
    v = compare([auth(1, "captured", ["authorize", "capture"]),
                 auth(2, "captured", ["authorize", "capture"]),
                 auth(3, "authorized", ["authorize"]),
                 auth(4, "refunded", ["authorize", "capture", "refund"])],
                [pay(1, "captured"), pay(2, "captured"), pay(4, "refunded")],
                [order(1, "shipped"), order(2, "delivered"), order(3, "delivered"),
                 order(4, "shipped")])
    assert len(v.held) == 1 and "still open" in v.held[0]  # a delivered order's, left open
    assert v.money == [next(m for m in v.money if "order o4 shipped" in m)]
    assert "refunded at the provider for a shipped order" in v.money[0]
