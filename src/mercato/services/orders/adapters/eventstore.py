"""The order event store: table ``order_events``, one row per event of an order.

Appending is optimistic: the new events carry the versions that follow the version their
writer folded (``expected_version``), and the primary key (order_id, version) refuses a
second event at a version already taken, so of two writers that decided on the same state
the second fails with ``ConcurrencyError`` and nothing of its transaction stays.

``seq`` is the store's global order, which projectors read in (``read_all``). It is given
out as ``MAX(seq) + 1`` inside the appending transaction, after the transaction has taken
the named lock ``order-events`` (``tx.lock``), held until it commits. So appends are
serialised, on every backend: on SQLite ``BEGIN IMMEDIATE`` already lets one writer at a
time in and the lock costs nothing; on PostgreSQL (READ COMMITTED) it is an advisory lock,
and the next appender reads the maximum only once the previous one has committed. Hence a
``seq`` never becomes visible after a higher one (``seq`` order is commit order, without
gaps), and two appends to different orders never read the same maximum (without the lock
they would, and the second would clash on the unique index of ``seq``: a spurious
``ConcurrencyError`` for an order nobody else touched).

A database sequence would not do: its numbers are handed out at insert time, not at
commit, so under concurrent writers a smaller number can commit after a larger one has
been read, and a projector that remembers "done up to N" would skip it for good; it also
leaves gaps on rollback. The price of the lock is that appends, in every process sharing
the database, take turns for the rest of their transaction — which is what SQLite does
anyway. So every caller appends last in its transaction (after its outbox rows, saga and
units): the lock is then held for the inserts and the COMMIT only, not for the caller's
other statements (measured in benchmarks/RESULTS.md, bench_backends: the holder used to
sit idle between statements while other appenders queued). The lock is
the last one an appending transaction takes (a customer's units, an idempotency key, an
order's own lock all come before it) and a holder waits for nothing else, so it cannot
take part in a deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from mercato.chassis.data import Conflict, Connection, Database
from mercato.services.orders.domain.events import Recorded, check_consecutive, from_data, to_data
from mercato.services.orders.ports import ConcurrencyError

APPEND_LOCK = "order-events"  # the named lock every append holds until its commit


class SqlEventStore:
    """Not ``Sql<Noun>Repository`` like the others: "event store" is the pattern's name."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every commit that appended events (wakes projectors)."""
        self._listeners.append(callback)

    async def append(self, tx: Connection, records: Sequence[Recorded],
                     expected_version: int) -> None:
        if not records:
            return
        check_consecutive(records, expected_version)
        order_id = records[0].order_id
        await tx.lock(APPEND_LOCK)  # seq order is commit order: the module docstring
        try:
            for r in records:
                await tx.execute(
                    "INSERT INTO order_events (seq, order_id, version, type, data, at)"
                    " VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM order_events),"
                    " ?, ?, ?, ?, ?)",
                    r.order_id, r.version, r.type, json.dumps(to_data(r.event)), r.at)
        except Conflict as exc:
            raise ConcurrencyError(
                f"order {order_id} has changed since version {expected_version}") from exc
        tx.on_commit(self._notify)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    async def load(self, order_id: str, tx: Connection | None = None) -> list[Recorded]:
        rows = await (tx or self.db).fetch_all(
            "SELECT order_id, version, type, data, at FROM order_events WHERE order_id = ?"
            " ORDER BY version", order_id)
        return [_record(r) for r in rows]

    async def read_all(self, tx: Connection, after: int, limit: int
                       ) -> list[tuple[int, Recorded]]:
        """Up to ``limit`` events with ``seq > after``, in seq order, with their seq."""
        rows = await tx.fetch_all(
            "SELECT seq, order_id, version, type, data, at FROM order_events WHERE seq > ?"
            " ORDER BY seq LIMIT ?", after, limit)
        return [(r["seq"], _record(r)) for r in rows]

    async def last_seq(self, tx: Connection | None = None) -> int:
        row = await (tx or self.db).fetch_one("SELECT MAX(seq) AS seq FROM order_events")
        return int(row["seq"] or 0) if row else 0


def _record(row: dict) -> Recorded:
    return Recorded(row["order_id"], row["version"], row["at"],
                    from_data(row["type"], json.loads(row["data"])))
