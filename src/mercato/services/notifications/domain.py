"""Notifications domain: a message to a user, and where their mail goes."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from mercato.chassis.errors import DomainError

# One address, nothing a mail header could be split on.
EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")


class NotificationError(DomainError):
    """A rule of notifications was broken; the message says which."""


class IdempotencyMismatch(NotificationError):
    """A notification id repeated with another user, kind, subject, body or order."""

    def __init__(self, notification_id: str) -> None:
        super().__init__(f"notification {notification_id} was first sent with another "
                         "user, kind, subject, body or order")
        self.notification_id = notification_id


@dataclass(frozen=True)
class Notification:
    id: str
    user_id: str
    kind: str
    subject: str
    body: str
    order_id: str | None
    email: str | None
    created_at: str
    sent_at: str | None = None

    def __post_init__(self) -> None:
        if not self.subject.strip():
            raise NotificationError("subject must not be blank")
        if "\r" in self.subject or "\n" in self.subject:
            raise NotificationError("subject must be one line")
        if not self.kind.strip() or not self.user_id.strip():
            raise NotificationError("kind and user_id must not be blank")

    @property
    def recipient(self) -> str:
        """Where the mail goes: the given address, else the user id (until identity
        shares addresses)."""
        return self.email or self.user_id

    def sent(self, at: str) -> Notification:
        return self if self.sent_at else replace(self, sent_at=at)

    def same_request(self, other: Notification) -> bool:
        """Whether a repeated send names the same message as the first one."""
        def key(n: Notification) -> tuple:
            return (n.user_id, n.kind, n.subject, n.body, n.order_id)
        return key(self) == key(other)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "user_id": self.user_id, "kind": self.kind,
            "subject": self.subject, "body": self.body, "order_id": self.order_id,
            "email": self.email, "created_at": self.created_at, "sent_at": self.sent_at,
        }

    def public_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "subject": self.subject, "body": self.body,
                "order_id": self.order_id, "created_at": self.created_at}


@dataclass(frozen=True)
class Recipient:
    """Where a user's mail goes, and how to greet them; learnt from their registration."""

    user_id: str
    email: str
    name: str

    def __post_init__(self) -> None:
        if not EMAIL.fullmatch(self.email):
            raise NotificationError(f"{self.email!r} is not a mail address")
        if "\r" in self.name or "\n" in self.name:
            raise NotificationError("a recipient's name must be one line")

    def greet(self, body: str) -> str:
        return f"Hello {self.name},\n\n{body}" if self.name.strip() else body
