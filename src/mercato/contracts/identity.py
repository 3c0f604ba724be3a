"""Events published by identity."""

from __future__ import annotations

from mercato.contracts.envelope import Event


class UserRegistered(Event):
    """A customer registered; notifications learns the address to write to."""

    SOURCE = "identity"
    user_id: str
    email: str
    name: str
