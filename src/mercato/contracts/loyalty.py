"""Events published by loyalty."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mercato.contracts.envelope import Event


class LedgerEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    order_id: str
    kind: str  # "credit" or "reversal"
    points: int  # signed: a reversal is negative
    cause_event_id: str
    at: str


class LoyaltyPointsChanged(Event):
    """A customer's points balance changed by one ledger entry; identity keeps the balance
    for the profile. ``sequence`` counts the customer's entries: a reader keeps the highest,
    so a late redelivery never puts an older balance back."""

    SOURCE = "loyalty"
    customer_id: str
    balance: int
    sequence: int
    entry: LedgerEntry
