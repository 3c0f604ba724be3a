"""`mercato events tail`: which streams it follows and how an event reads on one line."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from mercato.cli.events import (
    event_streams,
    format_event,
    key_ids,
    raw_envelope,
    subjects_overlap,
)


@pytest.mark.parametrize(("a", "b", "overlap"), [
    ("mercato.>", "mercato.orders.>", True),
    ("mercato.orders.>", "mercato.orders.>", True),
    ("mercato.orders.>", "mercato.payments.>", False),
    ("mercato.*.OrderPlaced", "mercato.orders.>", True),
    ("mercato.*.OrderPlaced", "mercato.payments.PaymentFailed", False),
    ("mercato.orders.OrderPlaced", "mercato.orders.>", True),
    ("mercato.orders", "mercato.orders.>", False),  # '>' needs at least one more token
    (">", "mercato.dlq.>", True),
    ("mercato.orders.*", "mercato.orders.OrderPlaced.v2", False),
    ("mercato.orders.*", "mercato.orders.*", True),
])
def test_subject_patterns_overlap_when_some_subject_matches_both(a, b, overlap):
    assert subjects_overlap(a, b) is overlap
    assert subjects_overlap(b, a) is overlap


def stream(name: str, *subjects: str):
    return SimpleNamespace(config=SimpleNamespace(name=name, subjects=list(subjects)))


INFOS = [stream("MERCATO_ORDERS", "mercato.orders.>"),
         stream("MERCATO_PAYMENTS", "mercato.payments.>"),
         stream("MERCATO_DLQ", "mercato.dlq.>"),
         stream("KV_mercato_registry", "$KV.mercato_registry.>")]


def test_every_event_stream_is_followed_but_not_the_dead_letters_or_the_registry():
    assert event_streams(INFOS, "mercato.>") == [("MERCATO_ORDERS", "mercato.>"),
                                                 ("MERCATO_PAYMENTS", "mercato.>")]
    assert event_streams(INFOS, ">") == [("MERCATO_ORDERS", ">"), ("MERCATO_PAYMENTS", ">")]


def test_a_subject_filter_follows_only_the_streams_that_can_hold_it():
    assert event_streams(INFOS, "mercato.orders.>") == [("MERCATO_ORDERS", "mercato.orders.>")]
    assert event_streams(INFOS, "mercato.shipping.>") == []
    assert event_streams(INFOS, "mercato.dlq.>") == []


ENVELOPE = {
    "id": "ev-1", "type": "OrderPlaced", "version": 1, "source": "orders",
    "occurred_at": "2026-11-21T10:04:05.123456Z", "correlation_id": "req-7",
    "causation_id": None, "traceparent": None,
    "payload": {"order_id": "o-1", "customer_id": "u-2", "total": 1200, "currency": "EUR",
                "items": [{"product_id": "p-3", "quantity": 1, "unit_price": 1200}]},
}


def test_an_event_reads_as_time_source_type_ids_and_correlation():
    line = format_event("mercato.orders.OrderPlaced", json.dumps(ENVELOPE).encode())
    assert line.split() == ["2026-11-21", "10:04:05.123", "orders", "OrderPlaced",
                            "order_id=o-1", "customer_id=u-2", "corr=req-7"]


def test_an_event_without_ids_or_correlation_still_reads():
    env = dict(ENVELOPE, correlation_id=None, payload={"total": 3})
    line = format_event("mercato.orders.OrderPlaced", json.dumps(env).encode())
    assert line.split()[-2:] == ["-", "corr=-"]


def test_the_key_ids_are_the_top_level_id_fields_in_payload_order():
    assert key_ids({"total": 1, "payment_id": "pay-1", "order_id": "o-1", "items": [],
                    "reason": "declined"}) == [("payment_id", "pay-1"), ("order_id", "o-1")]


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b'{"id": "x"}'])
def test_a_message_that_is_not_an_envelope_is_shown_not_fatal(data):
    line = format_event("mercato.orders.Odd", data)
    assert "mercato.orders.Odd" in line
    assert f"not an event envelope: {len(data)} bytes" in line


def test_json_output_is_the_envelope_on_one_line():
    pretty = json.dumps(ENVELOPE, indent=2).encode()
    assert "\n" not in raw_envelope(pretty)
    assert json.loads(raw_envelope(pretty)) == ENVELOPE
    compact = json.dumps(ENVELOPE).encode()
    assert raw_envelope(compact) == compact.decode()  # as published, byte for byte
