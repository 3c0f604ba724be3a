"""Notifications HTTP routes: the internal send, and the caller's own messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr, StringConstraints

from mercato.chassis import Principal, require_service, require_user
from mercato.services.notifications.handlers import Notifications, SendNotification

router = APIRouter()
Ident = Annotated[StrictStr, Field(min_length=1, max_length=100,
                                   pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
Kind = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
# One line: the subject becomes a mail header.
Subject = Annotated[StrictStr, Field(min_length=1, max_length=300,
                                     pattern=r"^[^\r\n]*\S[^\r\n]*$")]
OrderId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
MAX_ORDER_IDS = 20  # order ids one list may filter by (the mobile BFF asks for several)
Email = Annotated[StrictStr, Field(max_length=254,
                                   pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")]


class SendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notification_id: Ident
    user_id: Ident
    kind: Kind
    subject: Subject
    body: Annotated[StrictStr, Field(min_length=1, max_length=20_000)]
    order_id: Ident | None = None
    email: Email | None = None


class NotificationOut(BaseModel):
    """A message as answered (documented only); order_id null when it is about no order."""
    id: str
    kind: str
    subject: str
    body: str
    order_id: str | None
    created_at: str


class NotificationList(BaseModel):
    """The caller's messages (with order_id, those about that order), newest first."""
    items: list[NotificationOut]


async def notifications(request: Request) -> Notifications:
    return request.app.state.notifications


@router.post("/internal/notifications", status_code=201)
async def send_notification(
    body: SendBody,
    _caller: Principal = Depends(require_service("orders")),
    handlers: Notifications = Depends(notifications),
) -> dict:
    return (await handlers.send(SendNotification(**body.model_dump()))).as_dict()


@router.get("/api/v1/notifications", response_model=None,
            responses={200: {"model": NotificationList}})
async def list_notifications(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    order_id: Annotated[list[OrderId], Query(max_length=MAX_ORDER_IDS)] = [],  # noqa: B006
    caller: Principal = Depends(require_user),
    handlers: Notifications = Depends(notifications),
) -> dict:
    """The caller's messages, newest first; with ``order_id`` (repeatable, up to 20:
    ``?order_id=a&order_id=b``), those about any of those orders (an admin sees every
    customer's messages about them, as payments and shipping show theirs)."""
    found = await handlers.messages_for(caller, limit, order_id)
    return {"items": [n.public_dict() for n in found]}
