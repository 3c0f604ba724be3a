"""Loyalty HTTP routes: the caller's own ledger. The gateway routes this path, under
identity's prefix, to loyalty (a longer prefix wins in its route table)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from mercato.chassis import Principal, require_user
from mercato.services.loyalty.handlers import Loyalty

router = APIRouter()


class EntryOut(BaseModel):
    """One change of the balance (documented only): ``points`` is negative for a reversal."""
    id: str
    order_id: str
    event_id: str
    kind: str
    points: int
    at: str
    note: str


class LedgerOut(BaseModel):
    """The caller's balance and a page of their entries, newest first; ``next_cursor``
    fetches the next page (null on the last)."""
    loyalty_points: int
    items: list[EntryOut]
    next_cursor: str | None


async def loyalty(request: Request) -> Loyalty:
    return request.app.state.loyalty


def page_limit(request: Request,
               limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> int:
    """``limit``, within the service's ``loyalty_page_max``."""
    return min(limit, request.app.state.loyalty_page_max)


@router.get("/api/v1/identity/users/me/loyalty", response_model=None,
            responses={200: {"model": LedgerOut}})
async def my_ledger(
    limit: int = Depends(page_limit),
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,17}$",
                                        description="next_cursor of the previous page")] = None,
    caller: Principal = Depends(require_user),
    handlers: Loyalty = Depends(loyalty),
) -> dict:
    page = await handlers.ledger_of(caller.subject, limit, int(cursor) if cursor else None)
    return {"loyalty_points": page.balance, "items": [e.public_dict() for e in page.entries],
            "next_cursor": None if page.next is None else str(page.next)}
