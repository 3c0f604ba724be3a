"""What identity's handlers and key ring need from the world, as Protocols: the users, the
refresh tokens and the signing keys. The adapters (``store.py``, ``key_store.py``) implement
them; the handlers' tests run on in-memory fakes of the same Protocols (tests/support/memory),
and the repositories' contract tests hold every implementation to the same behaviour."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mercato.chassis.data import Connection
from mercato.services.identity.domain import RefreshToken, StoredKey, User


class UserRepository(Protocol):
    """Users: their email (unique), name, password hash and roles. Writes take the
    caller's transaction (``tx``); reads stand alone or join one."""

    async def get(self, user_id: str, tx: Connection | None = None) -> User | None:
        """The user of that id (in ``tx`` when given), or None."""
        ...

    async def by_email(self, email: str, tx: Connection | None = None) -> User | None:
        """The user of exactly that (normalized) email, or None."""
        ...

    async def add(self, tx: Connection, user: User) -> None:
        """Store a new user; ``DuplicateEmail`` if the email (or the id) is taken."""
        ...

    async def set_password_hash(self, tx: Connection, user_id: str,
                                password_hash: str) -> None:
        """Replace the user's password hash; an unknown id changes nothing."""
        ...


class RefreshTokenRepository(Protocol):
    """Refresh tokens, kept as digests, in families (one per sign-in, rotated along)."""

    async def by_hash(self, token_hash: str, tx: Connection | None = None
                      ) -> RefreshToken | None:
        """The token of that digest (in ``tx`` when given), or None."""
        ...

    async def family(self, family_id: str) -> list[RefreshToken]:
        """Every token of the family, in the order they were created (then by id)."""
        ...

    async def add(self, tx: Connection, token: RefreshToken) -> None:
        """Store a new, unrevoked token; ``Conflict`` if its id or digest is taken."""
        ...

    async def revoke(self, tx: Connection, token_id: str, at: datetime,
                     replaced_by: str | None) -> None:
        """Revoke the token at ``at``, naming its successor; one revoked already stays so."""
        ...

    async def revoke_family(self, tx: Connection, family_id: str, at: datetime) -> int:
        """Revoke every unrevoked token of the family at ``at``; how many were."""
        ...


class SigningKeyRepository(Protocol):
    """The key table, shared by identity's replicas: read alone (no ``tx``) or in the
    caller's transaction, in which the key ring holds the table's lock."""

    async def all(self, tx: Connection | None = None) -> list[StoredKey]:
        """Every key, retired ones too, oldest first (by activation time, then kid)."""
        ...

    async def add(self, tx: Connection, key: StoredKey) -> None:
        """Store a new key; ``KeyAlreadyKnown`` if its kid is."""
        ...

    async def set_retire_after(self, tx: Connection, key: StoredKey) -> None:
        """Set the stored key's ``retire_after`` to ``key``'s; nothing else of it changes."""
        ...

    async def erase(self, tx: Connection, kid: str, at: datetime) -> None:
        """Retire the key: drop its private half and note ``at``, once (the public half
        stays, for the list)."""
        ...


class LoyaltyBalanceRepository(Protocol):
    """Each customer's points balance, one row, as loyalty last announced it
    (LoyaltyPointsChanged): identity answers the profile alone, eventually consistent."""

    async def points_of(self, user_id: str) -> int:
        """The customer's balance; 0 before any entry."""
        ...

    async def record(self, tx: Connection, user_id: str, balance: int, sequence: int,
                     at: str) -> bool:
        """Keep ``balance`` unless one of a later (or the same) ``sequence`` is kept
        already (a late redelivery never puts an older balance back); True if kept."""
        ...
