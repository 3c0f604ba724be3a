"""What each domain error of identity answers (chassis/errors.py).

A user not found is the shared ``NotFound`` (404 ``not-found``). ``NotAuthenticated`` is
401 ``unauthorized`` here, but an HTTP route raising it answers its ``WWW-Authenticate:
Bearer`` too, which a table cannot say: the sign-in and refresh routes translate it
themselves (api.py). Identity's other errors (a missing signing key, a key known twice, a
refresh token rotated twice) are bugs or operator faults: unanswered, a 500.
"""

from __future__ import annotations

from mercato.chassis.errors import ErrorTable, Refusal
from mercato.services.identity.domain import (
    DuplicateEmail,
    InvalidUser,
    NotAuthenticated,
    RotationInProgress,
)

ERRORS = ErrorTable({
    InvalidUser: Refusal(422),  # kind: the status's own, unprocessable-entity
    DuplicateEmail: Refusal(409, "duplicate-email", facts=lambda e: {}),
    NotAuthenticated: Refusal(401),
    RotationInProgress: Refusal(409, "rotation-in-progress"),
})
