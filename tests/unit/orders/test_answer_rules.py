"""The saga's rules for its participants' answers (domain/answers.py), with no transport:
which refusals end a forward step, and which compensations are done, retried, or become
another compensation."""

from __future__ import annotations

import pytest

from mercato.services.orders.domain import answers
from mercato.services.orders.domain.answers import Answer


def refused(status: int, kind: str = "", **facts) -> Answer:
    return Answer(status, kind, f"refused: {kind}", facts)


@pytest.mark.parametrize(("answer", "outcome", "reason"), [
    (Answer(201), "ok", None),
    (refused(409, "out-of-stock"), "rejected", None),
    (refused(409, "reservation-expired"), "rejected", "expired"),
    (refused(402, "card-declined"), "rejected", None),
    (refused(422, "invalid-request"), "rejected", None),
    (refused(503, "provider-unavailable"), "transient", None),
    (refused(429), "transient", None),
    (refused(404), "transient", None),
    (refused(400), "rejected", None),
])
def test_a_forward_step_is_final_only_on_a_refusal(answer, outcome, reason):
    result = answers.forward(answer)
    assert (result.outcome, result.reason) == (outcome, reason)
    assert result.ok or result.detail.startswith(f"{answer.status}: ")


def test_the_commit_after_capture_is_final_only_when_the_reservation_expired():
    assert answers.confirmation(Answer(200)).ok
    expired = answers.confirmation(refused(409, "reservation-expired"))
    assert (expired.outcome, expired.reason) == ("rejected", "expired")
    assert answers.confirmation(refused(409, "invalid-transition")).outcome == "transient"
    assert answers.confirmation(refused(422)).outcome == "transient"


def test_an_undo_is_done_when_it_worked_the_thing_is_unknown_or_tombstoned():
    assert answers.undone(Answer(200)).ok
    assert answers.undone(refused(404)).ok
    assert answers.undone(refused(409, "already-cancelled")).ok


@pytest.mark.parametrize("answer", [refused(409, "something-new"), refused(403),
                                    refused(422), refused(503)])
def test_any_other_refused_undo_is_retried_never_marked_done(answer):
    assert answers.undone(answer).outcome == "transient"


def test_a_release_that_finds_the_goods_sold_becomes_a_return():
    assert answers.release_needs_return(refused(409, "already-committed"))
    assert not answers.release_needs_return(refused(409, "already-released"))
    assert not answers.release_needs_return(Answer(200))


def test_a_void_that_finds_the_payment_captured_becomes_a_refund():
    captured = refused(409, "invalid-transition", payment_status="captured")
    assert answers.void_needs_refund(captured)
    assert answers.voided(captured).outcome == "transient"  # never done by itself
    assert not answers.void_needs_refund(refused(409, "invalid-transition",
                                                 payment_status="voided"))


@pytest.mark.parametrize(("status", "refunded"), [
    ("voided", False), ("failed", False), ("refunded", True)])
def test_a_void_of_a_payment_undone_already_is_done(status, refunded):
    result = answers.voided(refused(409, "invalid-transition", payment_status=status))
    assert (result.outcome, result.refunded) == ("ok", refunded)


def test_a_refund_is_refunded_when_it_worked_and_done_when_there_is_nothing_to_refund():
    done = answers.refunded(Answer(200, facts={"status": "refunded"}))
    assert (done.outcome, done.refunded) == ("ok", True)
    before = answers.refunded(refused(409, "invalid-transition", payment_status="refunded"))
    assert (before.outcome, before.refunded) == ("ok", True)
    nothing = answers.refunded(refused(409, "invalid-transition", payment_status="authorized"))
    assert (nothing.outcome, nothing.refunded) == ("ok", False)
    assert answers.refunded(refused(503)).outcome == "transient"


def test_a_delivered_shipment_cannot_be_called_back_so_its_cancel_is_done():
    assert answers.shipment_cancelled(refused(409, "already-delivered")).ok
    assert answers.shipment_cancelled(refused(409, "not-deliverable")).outcome == "transient"


def test_a_return_is_done_or_tried_again():
    assert answers.returned(Answer(200)).ok
    assert answers.returned(refused(409, "invalid-transition")).outcome == "transient"
