"""Sealing a secret for a trip through the event streams (e.g. a card token in OrderPlaced).

Fernet (authenticated encryption from ``cryptography``) under a key derived with HKDF from
the service secret and a purpose label: whoever reads the stream, a dead letter or a log
sees ciphertext; only a process holding the service secret opens it, and a key derived for
one purpose does not open another's.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SealError(ValueError):
    """The sealed value was tampered with, or sealed under another secret or purpose."""


class Sealer:
    """Seals and opens short secrets (a card token in a saga row) with a key derived from
    ``secret`` for one ``purpose`` (Fernet: encrypted and authenticated)."""

    def __init__(self, secret: str, purpose: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mercato-sealing",
                   info=purpose.encode()).derive(secret.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError) as exc:
            raise SealError("the sealed value cannot be opened with this secret and "
                            "purpose") from exc


CARD_TOKEN = "mercato/checkout/card-token"
