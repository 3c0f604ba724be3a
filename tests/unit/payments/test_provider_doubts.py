"""Doubts about the card provider: a call that timed out is recorded, not taken for a
failure; the reconciler looks it up once the grace is over and settles it — a late
authorization of a payment that ended meanwhile is voided, a late capture refunded, and
nothing is charged twice. ``settle``'s decisions first, then the handlers and the
reconciler against the real simulator (served in process)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from mercato.chassis.clock import iso
from mercato.chassis.errors import DependencyTimedOut, DependencyUnavailable
from mercato.services.payments.domain import Payment, ProviderRecord, Status
from mercato.services.payments.doubts import Settle, settle
from mercato.services.payments.handlers import Authorize
from mercato.services.payments.provider_http import HttpProvider
from mercato.services.payments.reconciler import ProviderReconciler
from tests.support.provider_server import running_provider

PAYMENT = Payment(id="pay-1", order_id="ord-1", customer_id="c-1", amount=500,
                  currency="USD", status=Status.AUTHORIZED, provider_reference="sim_x",
                  failure_reason=None, created_at="t", updated_at="t")


def held(status: str) -> ProviderRecord:
    return ProviderRecord(reference="sim_x", status=status)


@pytest.mark.parametrize(("ours", "tombstoned", "theirs", "expected"), [
    (None, False, held("authorized"), Settle.WAIT),  # the checkout may still retry
    (PAYMENT, False, held("captured"), Settle.WAIT),  # it captures or voids it yet
    (None, True, held("authorized"), Settle.VOID),  # voided here before it was stored
    (None, True, None, Settle.NOTHING),
    (replace(PAYMENT, status=Status.FAILED), False, held("authorized"), Settle.VOID),
    (replace(PAYMENT, status=Status.VOIDED), False, held("authorized"), Settle.VOID),
    (replace(PAYMENT, status=Status.VOIDED), False, held("captured"), Settle.REFUND),
    (replace(PAYMENT, status=Status.REFUNDED), False, held("captured"), Settle.REFUND),
    (replace(PAYMENT, status=Status.VOIDED), False, held("voided"), Settle.NOTHING),
    (replace(PAYMENT, status=Status.FAILED), False, held("declined"), Settle.NOTHING),
    (replace(PAYMENT, status=Status.CAPTURED), False, held("captured"), Settle.NOTHING),
])
def test_what_settles_a_doubt(ours, tombstoned, theirs, expected):
    assert settle(ours, tombstoned, theirs) is expected


def slow(token: str = "tok_ok") -> Authorize:
    return Authorize("pay-1", "ord-1", "c-1", 500, "USD", token)


class LateAnswers:
    """The provider does each capture but its answer comes past the caller's timeout."""

    def __init__(self, inner: HttpProvider) -> None:
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def capture(self, reference: str, amount: int):
        done = await self.inner.capture(reference, amount)
        await asyncio.sleep(5)
        return done


def voided_counted() -> float:
    return REGISTRY.get_sample_value("mercato_payments_provider_doubts_settled_total",
                                     {"outcome": "voided-late-authorization"}) or 0.0


async def entries(ledger) -> list[str]:
    (found,) = ledger.everything()
    return [e["kind"] for e in found["entries"]]


async def test_a_late_authorization_of_an_order_voided_meanwhile_is_voided(tmp_path,
                                                                          make_payments):
    async with running_provider(tmp_path, slow_delay=2.0) as (url, ledger):
        provider = HttpProvider(url, timeout=0.3)
        payments = await make_payments(provider, timeout=0.3)
        reconciler = ProviderReconciler(payments, grace=0, poll=1)
        with pytest.raises(DependencyTimedOut):
            await payments.authorize(slow("tok_slow"))
        (doubt,) = await payments.doubts.all()
        assert (doubt["action"], doubt["settled_at"]) == ("authorize", None)
        assert await reconciler.reconcile() == 0  # not ended here: the saga may retry
        assert await payments.void("pay-1") is None  # the saga gave up: a tombstone
        before = voided_counted()
        assert await reconciler.reconcile() == 1
        assert voided_counted() == before + 1
        assert reconciler.settled == {"voided-late-authorization": 1}
        assert (await provider.lookup("pay-1")).status == "voided"
        (doubt,) = await payments.doubts.all()
        assert doubt["outcome"] == "voided-late-authorization"
        assert await reconciler.reconcile() == 0
        assert await entries(ledger) == ["authorize", "void"]
        await provider.close()


async def test_a_late_capture_then_a_void_gives_the_money_back_once(tmp_path, make_payments):
    async with running_provider(tmp_path) as (url, ledger):
        provider = HttpProvider(url, timeout=2)
        payments = await make_payments(LateAnswers(provider), timeout=0.3)
        await payments.authorize(slow())
        with pytest.raises(DependencyTimedOut):
            await payments.capture("pay-1")
        assert (await payments.store.get("pay-1")).status is Status.AUTHORIZED
        voided = await payments.void("pay-1")  # the saga gave the capture up
        assert voided is not None and voided.status is Status.VOIDED
        assert await entries(ledger) == ["authorize", "capture", "refund"]
        (doubt,) = await payments.doubts.all()  # the refund's answer closed it
        assert doubt["outcome"] == "answered" and doubt["action"] == "refund"
        assert await ProviderReconciler(payments, grace=0, poll=1).reconcile() == 0
        assert await entries(ledger) == ["authorize", "capture", "refund"]  # nothing more
        await provider.close()


async def test_a_late_authorization_of_a_payment_given_up_is_voided(tmp_path, make_payments):
    async with running_provider(tmp_path, slow_delay=2.0) as (url, ledger):
        provider = HttpProvider(url, timeout=0.3)
        payments = await make_payments(provider, timeout=0.3)
        with pytest.raises(DependencyTimedOut):
            await payments.authorize(slow("tok_slow"))
        failed = replace(PAYMENT, status=Status.FAILED, provider_reference=None,
                         failure_reason="provider_unavailable")
        async with payments.db.transaction() as tx:  # as choreography's give-up stores it
            await payments.store.add(tx, failed, "declined")
        assert await ProviderReconciler(payments, grace=0, poll=1).reconcile() == 1
        assert await entries(ledger) == ["authorize", "void"]
        await provider.close()


async def test_a_doubt_stays_open_while_the_provider_is_unreachable(tmp_path, make_payments):
    async with running_provider(tmp_path) as (url, _):
        pass
    provider = HttpProvider(url, timeout=0.3)
    payments = await make_payments(provider, timeout=0.3)
    with pytest.raises(DependencyUnavailable):
        await payments.authorize(slow())
    await payments.void("pay-1")
    assert await ProviderReconciler(payments, grace=0, poll=1).reconcile() == 0
    (doubt,) = await payments.doubts.all()
    assert doubt["settled_at"] is None
    await provider.close()


async def test_a_doubt_within_its_grace_is_not_looked_up_yet(tmp_path, make_payments):
    async with running_provider(tmp_path, slow_delay=2.0) as (url, _):
        provider = HttpProvider(url, timeout=0.3)
        payments = await make_payments(provider, timeout=0.3)
        with pytest.raises(DependencyTimedOut):
            await payments.authorize(slow("tok_slow"))
        await payments.void("pay-1")
        assert await ProviderReconciler(payments, grace=3600, poll=1).reconcile() == 0
        assert (await provider.lookup("pay-1")).status == "authorized"
        await provider.close()


class HeldAnswers:
    """The provider does each authorization, but its answer waits for ``answer``: a
    payments process can be killed (its task cancelled) while it waits."""

    def __init__(self, inner: HttpProvider) -> None:
        self.inner, self.answer, self.asked = inner, asyncio.Event(), asyncio.Event()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def authorize(self, token, amount, currency, reference):
        result = await self.inner.authorize(token, amount, currency, reference)
        self.asked.set()
        await self.answer.wait()
        return result


async def test_a_process_killed_while_the_provider_answers_leaves_its_doubt_open(
        tmp_path, make_payments):
    async with running_provider(tmp_path) as (url, _ledger):
        provider = HttpProvider(url, timeout=2)
        held_answers = HeldAnswers(provider)
        payments = await make_payments(held_answers, timeout=5)
        call = asyncio.create_task(payments.authorize(slow()))
        await asyncio.wait_for(held_answers.asked.wait(), 5)
        call.cancel()  # killed after the provider authorized, before the answer was kept
        with pytest.raises(asyncio.CancelledError):
            await call
        (doubt,) = await payments.doubts.all()
        assert (doubt["action"], doubt["settled_at"]) == ("authorize", None)
        assert await payments.void("pay-1") is None  # the saga gave up: a tombstone
        assert await ProviderReconciler(payments, grace=0, poll=1).reconcile() == 1
        assert (await provider.lookup("pay-1")).status == "voided"
        await provider.close()


async def test_an_answer_kept_closes_its_doubt(tmp_path, make_payments):
    async with running_provider(tmp_path) as (url, _ledger):
        provider = HttpProvider(url, timeout=2)
        payments = await make_payments(provider, timeout=2)
        await payments.authorize(slow())
        await payments.capture("pay-1")
        (doubt,) = await payments.doubts.all()
        assert (doubt["action"], doubt["outcome"]) == ("capture", "answered")
        assert await ProviderReconciler(payments, grace=0, poll=1).reconcile() == 0
        await provider.close()


async def test_a_doubt_that_must_wait_goes_behind_the_newer_ones(tmp_path, make_payments):
    async with running_provider(tmp_path) as (url, _ledger):
        provider = HttpProvider(url, timeout=2)
        payments = await make_payments(provider, timeout=2)
        await payments.authorize(slow())  # stored AUTHORIZED: a doubt about it must wait
        opened = iso(payments.clock())
        await payments.doubts.doubt("pay-1", "capture", opened)
        reconciler = ProviderReconciler(payments, grace=0, poll=1)
        assert await reconciler.reconcile() == 0
        (doubt,) = await payments.doubts.all()
        assert doubt["settled_at"] is None and doubt["opened_at"] > opened  # postponed
        await provider.close()
