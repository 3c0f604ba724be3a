"""What each domain error of notifications answers (chassis/errors.py).

A message stored but not yet mailed is the shared ``DependencyUnavailable`` (503
``mail-unavailable``, ``Retry-After: 1``): repeating the request sends it.
"""

from __future__ import annotations

from mercato.chassis.errors import ErrorTable, Refusal
from mercato.services.notifications.domain import IdempotencyMismatch, NotificationError

ERRORS = ErrorTable({
    IdempotencyMismatch: Refusal(422, "idempotency-mismatch", facts=lambda e: {}),
    NotificationError: Refusal(422),  # kind: the status's own, unprocessable-entity
})
