"""The simulated card provider honours the test card tokens of the public API."""

import pytest

from mercato.services.payments.domain import ProviderFailure
from mercato.services.payments.provider import SimulatedProvider


class RecordingSleep:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


async def test_tok_ok_approves_with_a_reference_that_is_the_same_for_the_same_payment():
    provider = SimulatedProvider(latency=0, timeout=1, sleep=RecordingSleep())
    first = await provider.authorize("tok_ok", 100, "USD", "pay-1")
    again = await provider.authorize("tok_ok", 100, "USD", "pay-1")
    other = await provider.authorize("tok_ok", 100, "USD", "pay-2")
    assert first.approved and first.reference
    assert again.reference == first.reference
    assert other.reference != first.reference


@pytest.mark.parametrize(("token", "reason"), [
    ("tok_decline", "card_declined"),
    ("tok_unknown", "unknown_card_token"),
    ("", "unknown_card_token"),
])
async def test_tok_decline_and_unknown_tokens_decline(token, reason):
    provider = SimulatedProvider(latency=0, timeout=1, sleep=RecordingSleep())
    result = await provider.authorize(token, 100, "USD", "pay-1")
    assert not result.approved
    assert result.reason == reason
    assert result.reference is None


async def test_tok_error_fails_every_time():
    provider = SimulatedProvider(latency=0, timeout=1, sleep=RecordingSleep())
    for _ in range(3):
        with pytest.raises(ProviderFailure):
            await provider.authorize("tok_error", 100, "USD", "pay-1")


async def test_tok_slow_waits_longer_than_the_provider_timeout():
    sleep = RecordingSleep()
    provider = SimulatedProvider(latency=0, timeout=2.0, sleep=sleep)
    await provider.authorize("tok_slow", 100, "USD", "pay-1")
    assert sum(sleep.slept) > 2.0


async def test_every_call_waits_the_configured_latency():
    sleep = RecordingSleep()
    provider = SimulatedProvider(latency=0.25, timeout=1, sleep=sleep)
    auth = await provider.authorize("tok_ok", 100, "USD", "pay-1")
    await provider.capture(auth.reference, 100)
    await provider.refund(auth.reference, 100)
    await provider.void(auth.reference)
    assert sleep.slept == [0.25, 0.25, 0.25, 0.25]


async def test_no_latency_means_no_waiting():
    sleep = RecordingSleep()
    provider = SimulatedProvider(latency=0, timeout=1, sleep=sleep)
    await provider.authorize("tok_ok", 100, "USD", "pay-1")
    assert sleep.slept == []
