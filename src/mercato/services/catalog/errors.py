"""What each domain error of the catalog answers (chassis/errors.py).

The kinds are the statuses' own (``conflict``, ``unprocessable-entity``), as before; an
unknown product is the shared ``NotFound`` (404 ``not-found``).
"""

from __future__ import annotations

from mercato.chassis.errors import ErrorTable, Refusal
from mercato.services.catalog.domain import CatalogError, DuplicateSku

ERRORS = ErrorTable({
    DuplicateSku: Refusal(409),
    CatalogError: Refusal(422),
})
