"""Payments' HTTP adapter against the real card provider simulator (served in process):
the test tokens behave as the in-process provider's, every call is idempotent on its
natural key (one authorization per reference, one capture per authorization), a void of
a captured authorization is refused as ``captured``, the ledger survives a restart, and a
slow answer is a timeout although the provider did the work (the lie F8 is made of)."""

from __future__ import annotations

import aiohttp
import pytest

from mercato.services.payments.domain import ProviderFailure, ProviderTimeout
from mercato.services.payments.provider_http import HttpProvider
from mercato.simulators.provider import Ledger
from tests.support.provider_server import running_provider


def kinds(ledger: Ledger, auth_id: str) -> list[str]:
    (found,) = [a for a in ledger.everything() if a["id"] == auth_id]
    return [e["kind"] for e in found["entries"]]


async def test_an_authorization_asked_twice_is_one_and_a_capture_twice_charges_once(tmp_path):
    async with running_provider(tmp_path) as (url, ledger):
        provider = HttpProvider(url, timeout=2)
        first = await provider.authorize("tok_ok", 500, "USD", "pay-1")
        again = await provider.authorize("tok_ok", 500, "USD", "pay-1")
        assert first.approved and first.reference == again.reference
        assert (await provider.capture(first.reference, 500)).approved
        assert (await provider.capture(first.reference, 500)).approved
        assert kinds(ledger, first.reference) == ["authorize", "capture"]
        await provider.close()


@pytest.mark.parametrize(("token", "reason"), [("tok_decline", "card_declined"),
                                               ("tok_other", "unknown_card_token")])
async def test_declines_carry_the_providers_reason(tmp_path, token, reason):
    async with running_provider(tmp_path) as (url, _):
        provider = HttpProvider(url, timeout=2)
        result = await provider.authorize(token, 500, "USD", "pay-1")
        assert not result.approved and result.reason == reason
        await provider.close()


async def test_tok_error_is_a_failure_and_keeps_nothing(tmp_path):
    async with running_provider(tmp_path) as (url, ledger):
        provider = HttpProvider(url, timeout=2)
        with pytest.raises(ProviderFailure):
            await provider.authorize("tok_error", 500, "USD", "pay-1")
        assert await provider.lookup("pay-1") is None
        assert ledger.everything() == []
        await provider.close()


async def test_a_void_of_a_captured_authorization_is_refused_as_captured(tmp_path):
    async with running_provider(tmp_path) as (url, _):
        provider = HttpProvider(url, timeout=2)
        auth = await provider.authorize("tok_ok", 500, "USD", "pay-1")
        await provider.capture(auth.reference, 500)
        refused = await provider.void(auth.reference)
        assert not refused.approved and refused.reason == "captured"
        assert (await provider.refund(auth.reference, 500)).approved
        assert (await provider.lookup("pay-1")).status == "refunded"
        await provider.close()


async def test_a_capture_of_another_amount_or_an_unknown_authorization_is_refused(tmp_path):
    async with running_provider(tmp_path) as (url, _):
        provider = HttpProvider(url, timeout=2)
        auth = await provider.authorize("tok_ok", 500, "USD", "pay-1")
        assert (await provider.capture(auth.reference, 499)).reason == "amount_mismatch"
        assert (await provider.capture("sim_nothing", 500)).reason == "unknown_authorization"
        assert (await provider.lookup("pay-1")).status == "authorized"
        await provider.close()


async def test_a_slow_answer_times_out_but_the_authorization_happened(tmp_path):
    async with running_provider(tmp_path, slow_delay=2.0) as (url, _):
        provider = HttpProvider(url, timeout=0.3)
        with pytest.raises(ProviderTimeout):
            await provider.authorize("tok_slow", 500, "USD", "pay-1")
        found = await provider.lookup("pay-1")
        assert found is not None and found.status == "authorized"
        await provider.close()


async def test_a_call_without_its_natural_idempotency_key_is_refused(tmp_path):
    async with running_provider(tmp_path) as (url, _):
        body = {"reference": "pay-1", "token": "tok_ok", "amount": 5, "currency": "USD"}
        async with aiohttp.ClientSession() as http:
            async with http.post(url + "/authorizations", json=body,
                                 headers={"Idempotency-Key": "something-else"}) as r:
                assert r.status == 400
            async with http.post(url + "/authorizations", json=body,
                                 headers={"Idempotency-Key": "authorize:pay-1"}) as r:
                assert r.status == 201


async def test_the_ledger_outlives_the_server(tmp_path):
    async with running_provider(tmp_path) as (url, _):
        provider = HttpProvider(url, timeout=2)
        auth = await provider.authorize("tok_ok", 500, "USD", "pay-1")
        await provider.close()
    async with running_provider(tmp_path) as (url, _):
        provider = HttpProvider(url, timeout=2)
        again = await provider.authorize("tok_ok", 500, "USD", "pay-1")
        assert again.reference == auth.reference
        assert (await provider.lookup("pay-1")).status == "authorized"
        await provider.close()


async def test_an_unreachable_provider_is_a_failure(tmp_path):
    async with running_provider(tmp_path) as (url, _):
        pass  # stopped: nothing listens there any more
    provider = HttpProvider(url, timeout=2)
    with pytest.raises(ProviderFailure):
        await provider.authorize("tok_ok", 500, "USD", "pay-1")
    await provider.close()
