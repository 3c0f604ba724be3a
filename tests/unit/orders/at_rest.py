"""What card data a service's SQLite file (or PostgreSQL database) still holds: every row
of every table read (the file as any process on the machine could read it), looking for a
card token in the clear, a ``sealed_card_token`` with a value, or a Fernet token the
card-seal opens."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import asyncpg

from mercato.chassis.sealing import Sealer, SealError

FERNET = re.compile(r"gAAAAA[A-Za-z0-9_\-]+=*")
SEALED_FIELD = re.compile(r'"sealed_card_token"\s*:\s*"[^"]')


def card_data_at_rest(path: Path, tokens: set[str], sealer: Sealer | None = None) -> list[str]:
    """``table.column = value`` of each cell holding one of ``tokens`` in the clear, a
    non-empty sealed card token field, or (given the ``sealer``) text it opens."""
    found = []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    text = _text(value)
                    if text and _holds_card(text, tokens, sealer):
                        found.append(f"{table}.{column} = {text[:120]}")
    finally:
        conn.close()
    return found


def card_data_at_rest_postgres(url: str, tokens: set[str],
                                sealer: Sealer | None = None) -> list[str]:
    """``card_data_at_rest`` for a service's PostgreSQL database at ``url``: every row of
    every table of its public schema."""
    async def scan() -> list[str]:
        found = []
        conn = await asyncpg.connect(url, timeout=10)
        try:
            tables = [r["table_name"] for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")]
            for table in tables:
                for row in await conn.fetch(f'SELECT * FROM "{table}"'):
                    for column, value in row.items():
                        text = _text(value)
                        if text and _holds_card(text, tokens, sealer):
                            found.append(f"{table}.{column} = {text[:120]}")
        finally:
            await conn.close()
        return found
    return asyncio.run(scan())


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


def _holds_card(text: str, tokens: set[str], sealer: Sealer | None) -> bool:
    if any(t and t in text for t in tokens) or SEALED_FIELD.search(text):
        return True
    if sealer is None:
        return False
    for candidate in FERNET.findall(text):
        try:
            sealer.open(candidate)
            return True
        except SealError:
            continue
    return False
