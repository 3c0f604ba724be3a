"""Doubts about the card provider, and what settles each one (no I/O).

A provider call that timed out (or broke off) may still have happened: the provider got
the request, authorized or captured, and its answer came too late or never. Payments
does not take that for a failure. Every call opens a doubt on the payment before it is
sent and closes it when a definite answer comes; one left open (a timeout, a failure, a
process killed while it waited) is for the reconciler (reconciler.py), which later looks
the payment up at the provider (by our reference, the payment id) and settles it with
``settle``: once our side has ended the payment (a tombstone, declined or given up,
voided, refunded), whatever the provider still holds for it is given back — an
authorization voided, a capture refunded. While the checkout may still use the payment
(not stored yet, or authorized) the doubt waits: a retry of the same call is answered
from the provider's idempotent record, which is the first answer and the only charge.
"""

from __future__ import annotations

from enum import StrEnum

from mercato.services.payments.domain import Payment, ProviderRecord, Status

ENDED = frozenset({Status.FAILED, Status.VOIDED, Status.REFUNDED})
ANSWERED = "answered"  # the outcome of a doubt its own call closed with a definite answer


class Settle(StrEnum):
    WAIT = "wait"  # the checkout may still use it: ask again later
    NOTHING = "nothing"  # the provider holds nothing we do not know of
    VOID = "void"  # a late authorization of an ended payment: release it
    REFUND = "refund"  # a late capture of an ended payment: give the money back


def settle(ours: Payment | None, tombstoned: bool, theirs: ProviderRecord | None) -> Settle:
    """What to do about a doubt, given our payment (None if never stored), whether its id
    is a tombstone, and the provider's record of it (None if it holds none)."""
    if ours is None and not tombstoned:
        return Settle.WAIT  # the authorization is still to be answered (or retried)
    if ours is not None and ours.status is Status.AUTHORIZED:
        return Settle.WAIT  # the checkout captures or voids it: the provider follows
    if theirs is None or (ours is not None and ours.status not in ENDED):
        return Settle.NOTHING  # held nowhere, or captured here as there
    if theirs.status == "authorized":
        return Settle.VOID
    if theirs.status == "captured":
        return Settle.REFUND
    return Settle.NOTHING  # voided, refunded or declined there: nothing held
