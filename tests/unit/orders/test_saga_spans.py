"""The saga's spans (saga/spans.py), kept by an in-memory exporter on a provider of the
test's own (the global one is left alone): one per forward step attempt and one per
compensation, with the order id, the step and the outcome, an error status on a step that
failed or was refused, and each participant called inside its step's span."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mercato.services.orders.domain.answers import Result
from tests.unit.orders.conftest import ALICE

STEPS = ["reserve_stock", "authorize_payment", "schedule_shipment", "capture_payment",
         "confirm_order"]


@pytest.fixture
def spans(shop) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    shop.orders.runner.tracer = provider.get_tracer("mercato.orders")
    return exporter


def names(exporter: InMemorySpanExporter) -> list[str]:
    return [s.name for s in sorted(exporter.get_finished_spans(), key=lambda s: s.start_time)]


async def test_a_confirmed_checkout_is_five_step_spans_in_order_each_ok(shop, spans):
    order_id = await shop.order(ALICE, ("p1", 1))
    assert names(spans) == [f"saga.step {s}" for s in STEPS]
    for span in spans.get_finished_spans():
        assert span.kind is SpanKind.INTERNAL
        assert span.status.status_code is StatusCode.UNSET
        assert span.attributes["mercato.order_id"] == order_id
        assert span.attributes["mercato.saga.step"] == span.name.split(" ", 1)[1]
        assert span.attributes["mercato.saga.outcome"] == "ok"
        assert span.attributes["mercato.saga.attempt"] == 1


async def test_a_declined_card_shows_an_error_on_its_step_then_the_compensations(shop, spans):
    shop.fake.answer("authorize_payment", Result("rejected", "402: declined"))
    order_id = await shop.order(ALICE, ("p1", 1), card="tok_decline")
    assert names(spans) == ["saga.step reserve_stock", "saga.step authorize_payment",
                            "saga.compensation release_stock"]  # a decline holds no money
    by_name = {s.name: s for s in spans.get_finished_spans()}
    failed = by_name["saga.step authorize_payment"]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "rejected: 402: declined"
    assert (failed.attributes["mercato.saga.outcome"],
            failed.attributes["mercato.saga.detail"]) == ("rejected", "402: declined")
    undo = by_name["saga.compensation release_stock"]
    assert (undo.attributes["mercato.order_id"], undo.attributes["mercato.saga.step"],
            undo.attributes["mercato.saga.outcome"]) == (order_id, "release_stock", "ok")
    assert undo.status.status_code is StatusCode.UNSET


async def test_a_refused_shipment_is_undone_newest_first_void_then_release(shop, spans):
    shop.fake.answer("schedule_shipment", Result("rejected", "422: not deliverable"))
    await shop.order(ALICE, ("p1", 1))
    assert names(spans)[2:] == ["saga.step schedule_shipment", "saga.compensation void_payment",
                                "saga.compensation release_stock"]


async def test_each_attempt_of_a_retried_step_is_a_span_of_its_own(shop, spans):
    shop.fake.answer("capture_payment", Result("transient", "503: provider unavailable"))
    await shop.order(ALICE, ("p1", 1))
    captures = [s for s in spans.get_finished_spans() if s.name == "saga.step capture_payment"]
    assert [(s.attributes["mercato.saga.attempt"], s.status.status_code) for s in captures] == [
        (1, StatusCode.ERROR), (2, StatusCode.UNSET)]


async def test_the_participant_is_called_inside_its_steps_span(shop, spans):
    seen: list[str] = []

    async def look() -> None:
        seen.append(trace.get_current_span().name)

    shop.fake.hooks["schedule_shipment"] = look
    await shop.order(ALICE, ("p1", 1))
    assert seen == ["saga.step schedule_shipment"]


async def test_the_saga_joins_the_trace_of_the_request_that_placed_the_order(shop, spans):
    provider = TracerProvider()
    request = provider.get_tracer("test").start_span("POST /api/v1/orders")
    with trace.use_span(request, end_on_exit=True):
        order_id = await shop.order(ALICE, ("p1", 1), settle=False)
    await shop.settle(order_id)
    trace_ids = {s.context.trace_id for s in spans.get_finished_spans()}
    assert trace_ids == {request.get_span_context().trace_id}
