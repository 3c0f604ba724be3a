"""The expiry sweeper: every few seconds, gives back the stock of reservations held past
their ``expires_at`` (``Inventory.expire_due``: one transaction each, StockReleased).

One runs in every inventory instance; they cannot expire a reservation twice, since each
expiry checks the reservation again inside its own transaction. A failing pass (the
database busy or full) is logged and the next one tries again.
"""

from __future__ import annotations

from mercato.chassis.clock import Clock
from mercato.chassis.logging import get_logger
from mercato.chassis.worker import RunsOnWorker, Worker
from mercato.services.inventory.handlers import Inventory

log = get_logger(__name__)


class ReservationSweeper(RunsOnWorker):
    def __init__(self, inventory: Inventory, *, interval: float = 5.0, batch: int = 100,
                 clock: Clock | None = None) -> None:
        self.inventory = inventory
        self.interval = interval
        self.batch = batch
        self.clock = clock or inventory.clock
        self.expired = 0  # reservations this sweeper expired since it started
        self.passes = 0
        # a failing pass is logged and the next one runs an interval later
        self.worker = Worker("reservation-sweeper", self._pass, poll=interval,
                             backoff=(interval,), failed="reservation_sweep_failed")

    async def _pass(self) -> None:
        await self.sweep()

    async def sweep(self) -> int:
        """One pass: expire every reservation due now, in batches; returns how many."""
        now = self.clock()
        total = 0
        while True:
            done = await self.inventory.expire_due(now, self.batch)
            total += len(done)
            if len(done) < self.batch:  # none left, or only ones a racer got to first
                break
        self.expired += total
        self.passes += 1
        if total:
            log.info("reservations_swept", expired=total)
        return total
