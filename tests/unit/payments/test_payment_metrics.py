"""Money moved, per currency: a capture and a refund each count their amount once, by the
transaction that stored them; a repeat, a void or an authorization counts nothing."""

from prometheus_client import CollectorRegistry

from mercato.services.payments.metrics import MoneyMetrics
from tests.unit.payments.payment_doubles import FakeProvider, authorize_cmd


async def counted(make_payments):
    payments = await make_payments(FakeProvider("approve"))
    registry = CollectorRegistry()
    payments.metrics = MoneyMetrics.create(registry)
    return payments, registry


def amount(registry: CollectorRegistry, kind: str, currency: str) -> float:
    return registry.get_sample_value(f"mercato_payments_{kind}_amount_total",
                                     {"currency": currency}) or 0.0


async def test_a_capture_and_its_refund_count_their_amount_once_each_in_their_currency(
        make_payments):
    payments, registry = await counted(make_payments)
    await payments.authorize(authorize_cmd(currency="EUR"))
    assert amount(registry, "captured", "EUR") == 0
    await payments.capture("pay-1")
    await payments.capture("pay-1")  # a repeat moves nothing
    await payments.refund("pay-1")
    await payments.refund("pay-1")
    assert amount(registry, "captured", "EUR") == 2599
    assert amount(registry, "refunded", "EUR") == 2599
    assert amount(registry, "captured", "USD") == 0


async def test_a_voided_authorization_moves_no_money(make_payments):
    payments, registry = await counted(make_payments)
    await payments.authorize(authorize_cmd())
    await payments.void("pay-1")
    text = [s for f in registry.collect() for s in f.samples if s.name.endswith("_total")]
    assert text == []
