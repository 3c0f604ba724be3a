"""The simulator's ledger: authorizations and what happened to them, in SQLite on disk.

The test card tokens behave as the in-process provider's (payments/provider.py):
``tok_ok`` approves, ``tok_decline`` declines, ``tok_error`` fails (500, nothing kept),
``tok_slow`` approves but answers late (server.py waits), anything else declines.

Idempotent as a real processor is: an authorization is keyed by the merchant's
reference (our payment id), so asking twice gives the same one; each authorization is
captured, voided or refunded at most once (asking again answers the same, moving no
money). Every movement of money is an entry, so "charged twice" would show as two
capture entries of one authorization.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APPROVE, DECLINE, ERROR, SLOW = "tok_ok", "tok_decline", "tok_error", "tok_slow"

SCHEMA = """
CREATE TABLE IF NOT EXISTS authorizations (
    id TEXT PRIMARY KEY, reference TEXT NOT NULL UNIQUE, amount INTEGER NOT NULL,
    currency TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, slow INTEGER NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, authorization_id TEXT NOT NULL,
    kind TEXT NOT NULL, amount INTEGER NOT NULL, at REAL NOT NULL);
"""
# action -> (the status it starts from, the status it leads to); from any other, refused
MOVES = {
    "capture": ("authorized", "captured"),
    "void": ("authorized", "voided"),
    "refund": ("captured", "refunded"),
}


@dataclass(frozen=True)
class Answer:
    """An HTTP status and its JSON body; ``slow`` asks the server to answer late."""
    status: int
    body: dict[str, Any]
    slow: bool = False


def authorization_id(reference: str) -> str:
    """The provider's id for our reference: the in-process provider's derivation too."""
    return "sim_" + hashlib.sha256(reference.encode()).hexdigest()[:24]


class Ledger:
    """Authorizations and entries in ``path`` (created if missing); one writer (the
    server's event loop), so each operation is a short transaction of its own."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def authorize(self, reference: str, token: str, amount: int, currency: str) -> Answer:
        if token == ERROR:
            return Answer(500, {"error": "simulated failure"})
        found = self._by_reference(reference)
        if found is not None:
            if (found["amount"], found["currency"]) != (amount, currency):
                return Answer(422, {"error": "idempotency-mismatch",
                                    "reason": "reference reused for another amount"})
            return _authorization_answer(found)
        approved = token in (APPROVE, SLOW)
        reason = None if approved else ("card_declined" if token == DECLINE
                                        else "unknown_card_token")
        now = time.time()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO authorizations (id, reference, amount, currency, status, reason,"
                " slow, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (authorization_id(reference), reference, amount, currency,
                 "authorized" if approved else "declined", reason, int(token == SLOW),
                 now, now))
            if approved:
                self._entry(authorization_id(reference), "authorize", amount, now)
        found = self._by_reference(reference)
        assert found is not None
        return _authorization_answer(found)

    def move(self, action: str, auth_id: str, amount: int | None = None) -> Answer:
        """Capture, void or refund ``auth_id``; again is the same answer, no money moved."""
        source, target = MOVES[action]
        found = self._by_id(auth_id)
        if found is None:
            return Answer(404, {"error": "not-found", "reason": "unknown_authorization"})
        if amount is not None and amount != found["amount"]:
            return Answer(422, {"error": "amount-mismatch", "reason": "amount_mismatch"})
        if found["status"] == target:  # asked again: the same answer, no money moved
            return Answer(200, _public(found))
        if found["status"] != source:
            return Answer(409, {**_public(found), "error": "invalid-state",
                                "reason": found["status"]})
        now = time.time()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            changed = self._db.execute(
                "UPDATE authorizations SET status = ?, updated_at = ? WHERE id = ?"
                " AND status = ?", (target, now, auth_id, source)).rowcount
            if changed:
                self._entry(auth_id, action, found["amount"], now)
        return Answer(200, _public(self._by_id(auth_id)))

    def lookup(self, reference: str) -> Answer:
        found = self._by_reference(reference)
        if found is None:
            return Answer(404, {"error": "not-found", "reason": "unknown_reference"})
        return Answer(200, _public(found))

    def everything(self) -> list[dict[str, Any]]:
        """Every authorization with its entries (oldest first), for checks and humans."""
        entries: dict[str, list[dict[str, Any]]] = {}
        for e in self._db.execute("SELECT * FROM entries ORDER BY seq"):
            entries.setdefault(e["authorization_id"], []).append(
                {"kind": e["kind"], "amount": e["amount"], "at": e["at"]})
        return [{**_public(a), "entries": entries.get(a["id"], [])}
                for a in self._db.execute("SELECT * FROM authorizations ORDER BY created_at")]

    def _entry(self, auth_id: str, kind: str, amount: int, at: float) -> None:
        self._db.execute("INSERT INTO entries (authorization_id, kind, amount, at)"
                         " VALUES (?, ?, ?, ?)", (auth_id, kind, amount, at))

    def _by_reference(self, reference: str) -> sqlite3.Row | None:
        return self._db.execute("SELECT * FROM authorizations WHERE reference = ?",
                                (reference,)).fetchone()

    def _by_id(self, auth_id: str) -> sqlite3.Row | None:
        return self._db.execute("SELECT * FROM authorizations WHERE id = ?",
                                (auth_id,)).fetchone()


def _public(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "reference": row["reference"], "amount": row["amount"],
            "currency": row["currency"], "status": row["status"], "reason": row["reason"]}


def _authorization_answer(row: sqlite3.Row) -> Answer:
    if row["status"] == "declined":
        return Answer(402, {"error": "declined", **_public(row)}, slow=bool(row["slow"]))
    return Answer(201, _public(row), slow=bool(row["slow"]))
