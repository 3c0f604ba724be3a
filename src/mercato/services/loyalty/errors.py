"""What each domain error of loyalty answers (chassis/errors.py)."""

from __future__ import annotations

from mercato.chassis.errors import ErrorTable, Refusal
from mercato.services.loyalty.domain import LoyaltyError

ERRORS = ErrorTable({
    LoyaltyError: Refusal(422),  # kind: the status's own, unprocessable-entity
})
