"""The projector: feeds the read models from the order event store, in ``seq`` order.

Each projection remembers its position — the ``seq`` of the last event it applied — in
``projection_positions``, written in the same transaction as the rows that those events
changed. After a crash a projection has either both the rows and the position or neither,
so running again applies every event exactly once, and a projection added later starts
at 0 and catches up on its own without touching the others. ``seq`` is commit order (see
``eventstore.py``), so "everything up to my position" is a true statement and reading
``seq > position`` never skips an event that committed late.

It runs after every commit that appended events (the event store wakes it, as the outbox
wakes the relay): at once after a quiet spell, and in a burst at most once per ``linger``
seconds, so that the burst is applied in one transaction instead of one per commit (at
100 checkouts/s, ~50 projector transactions a second instead of ~400). It polls as a
fallback (another process may have written) and catches up at start-up. ``rebuild``
empties the read models and replays the whole store in one transaction, so readers see
the old rows or the new ones, never a half-built set; a store too big for one transaction
would need shadow tables swapped in instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from mercato.chassis.data import Connection, Database
from mercato.chassis.logging import get_logger
from mercato.chassis.worker import Worker, doubling
from mercato.services.orders.adapters.eventstore import SqlEventStore
from mercato.services.orders.domain.events import Recorded

log = get_logger(__name__)


class Projection(Protocol):
    name: str  # its row in projection_positions
    tables: tuple[str, ...]  # its own tables, and nobody else's

    async def apply(self, tx: Connection, record: Recorded) -> None: ...


class Projector:
    def __init__(self, db: Database, events: SqlEventStore,
                 projections: Sequence[Projection], *, batch: int = 500, poll: float = 1.0,
                 max_backoff: float = 5.0, linger: float = 0.02) -> None:
        self.db = db
        self.events = events
        self.projections = list(projections)
        self.batch = batch
        self.wakeup = asyncio.Event()
        events.subscribe(self.wakeup.set)
        # An event a projection cannot apply stops that batch (nothing of it is kept) and
        # is retried: the read models lag, loudly, rather than skip it.
        self.worker = Worker("order-projector", self._pass, poll=poll, wakeup=self.wakeup,
                             linger=linger, backoff=doubling(0.1, max_backoff),
                             failed="projector_failed", traceback=True)

    async def catch_up(self) -> int:
        """Apply every event not yet applied; returns how many events were read."""
        if not await self._behind():  # the poll's usual case: no write lock for nothing
            return 0
        total = 0
        while True:
            read = await self.run_batch()
            total += read
            if read < self.batch:
                return total

    async def run_batch(self) -> int:
        """One transaction: the next events after the furthest-behind position, applied to
        each projection that has not seen them, and the new positions."""
        async with self.db.transaction() as tx:
            positions = await self._positions(tx)
            start = min(positions.values(), default=0)
            batch = await self.events.read_all(tx, after=start, limit=self.batch)
            for projection in self.projections:
                seen = positions[projection.name]
                todo = [(seq, record) for seq, record in batch if seq > seen]
                for _seq, record in todo:
                    await projection.apply(tx, record)
                if todo:
                    await self._set_position(tx, projection.name, todo[-1][0])
            return len(batch)

    async def positions(self) -> dict[str, int]:
        async with self.db.transaction() as tx:
            return await self._positions(tx)

    async def rebuild(self) -> dict:
        """Empty every read model and replay the whole store into it, in one transaction;
        returns the events replayed, the new position, and the rows of each table."""
        async with self.db.transaction() as tx:
            for projection in self.projections:
                for table in projection.tables:
                    await tx.execute(f"DELETE FROM {table}")
                await tx.execute("DELETE FROM projection_positions WHERE projection = ?",
                                 projection.name)
            replayed, position = 0, 0
            while batch := await self.events.read_all(tx, after=position, limit=self.batch):
                for _seq, record in batch:
                    for projection in self.projections:
                        await projection.apply(tx, record)
                replayed += len(batch)
                position = batch[-1][0]
            rows = {}
            for projection in self.projections:
                if position:
                    await self._set_position(tx, projection.name, position)
                for table in projection.tables:
                    row = await tx.fetch_one(f"SELECT COUNT(*) AS n FROM {table}")
                    rows[table] = row["n"]
        log.info("projections_rebuilt", events=replayed, position=position, rows=rows)
        return {"events": replayed, "position": position, "rows": rows}

    async def _behind(self) -> bool:
        rows = await self.db.fetch_all("SELECT projection, position FROM projection_positions")
        known = {r["projection"]: r["position"] for r in rows}
        done = min((known.get(p.name, 0) for p in self.projections), default=0)
        return await self.events.last_seq() > done

    async def _positions(self, tx: Connection) -> dict[str, int]:
        rows = await tx.fetch_all("SELECT projection, position FROM projection_positions")
        known = {r["projection"]: r["position"] for r in rows}
        return {p.name: known.get(p.name, 0) for p in self.projections}

    async def _set_position(self, tx: Connection, name: str, position: int) -> None:
        await tx.execute(
            "INSERT INTO projection_positions (projection, position) VALUES (?, ?)"
            " ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
            name, position)

    # -- running in the background ---------------------------------------------
    def start(self) -> None:
        self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()

    async def _pass(self) -> None:
        await self.catch_up()
