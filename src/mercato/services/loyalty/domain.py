"""Loyalty domain: points earned by delivered orders and given back by refunds.

A customer's balance is the sum of their ledger's entries, and never negative. Each entry
names its cause (the order and the event), and an order has at most one credit and one
reversal: replaying an event, or the same fact under another event id, changes nothing.
No framework, no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from mercato.chassis.errors import DomainError

NAMESPACE = uuid.UUID("3f1c9a52-6b8e-4d07-9e1a-5c2b7d8f0a64")
# Digits after the point of a currency's minor unit (ISO 4217); the rest have two.
EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0,
             "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}


class LoyaltyError(DomainError):
    """A rule of loyalty was broken; the message says which."""


class Kind(Enum):
    CREDIT = "credit"
    REVERSAL = "reversal"


def points_for(total: int, currency: str) -> int:
    """One point per whole currency unit of ``total`` (minor units), rounded down:
    USD 1999 -> 19, JPY 1999 -> 1999."""
    if total < 0:
        raise LoyaltyError(f"an order total cannot be negative ({total})")
    return total // 10 ** EXPONENTS.get(currency.upper(), 2)


def entry_id(order_id: str, kind: Kind) -> str:
    """One entry per order and kind, whatever event announced it."""
    return str(uuid.uuid5(NAMESPACE, f"{order_id}/{kind.value}"))


@dataclass(frozen=True)
class Entry:
    """One change of a customer's balance: ``points`` is signed (a reversal is negative)."""

    customer_id: str
    order_id: str
    cause_event_id: str
    kind: Kind
    points: int
    at: str
    note: str = ""

    @property
    def id(self) -> str:
        return entry_id(self.order_id, self.kind)

    def public_dict(self) -> dict:
        return {"id": self.id, "order_id": self.order_id, "event_id": self.cause_event_id,
                "kind": self.kind.value, "points": self.points, "at": self.at,
                "note": self.note}


def balance(entries: Iterable[Entry]) -> int:
    return sum(e.points for e in entries)


def credit(customer_id: str, order_id: str, event_id: str, total: int, currency: str,
           at: str, of_order: Iterable[Entry]) -> Entry | None:
    """The credit a delivered order earns; None if it has one already, or was reversed
    before its credit was heard (a refund is final: its points are never earned)."""
    if list(of_order):
        return None
    return Entry(customer_id, order_id, event_id, Kind.CREDIT, points_for(total, currency), at)


def reversal(customer_id: str, order_id: str, event_id: str, at: str,
             of_order: Iterable[Entry], current_balance: int) -> Entry | None:
    """Taking back what a refunded order earned; None if reversed already. The balance
    never goes negative: a reversal larger than it reverses what is left, and says so."""
    entries = list(of_order)
    if any(e.kind is Kind.REVERSAL for e in entries):
        return None
    earned = sum(e.points for e in entries if e.kind is Kind.CREDIT)
    if not earned:
        note = "nothing was credited for this order"
        return Entry(customer_id, order_id, event_id, Kind.REVERSAL, 0, at, note)
    taken = min(earned, max(current_balance, 0))
    note = "" if taken == earned else f"{earned} earned, only {taken} left to reverse"
    return Entry(customer_id, order_id, event_id, Kind.REVERSAL, -taken, at, note)
