"""What inventory holds for checkouts, as the gauges read at each scrape: reservations
still holding stock and the units they hold; a commit or a release lets go of them."""

from __future__ import annotations

from types import SimpleNamespace

from mercato.chassis.telemetry.metrics import ScrapeMetrics
from mercato.services.inventory import metrics as inventory_metrics
from tests.unit.inventory.conftest import KNOWN, OTHER


async def test_held_reservations_and_units_follow_reserve_commit_and_release(inventory):
    await inventory.adjust_stock(KNOWN, 10, "initial", actor="a")
    await inventory.adjust_stock(OTHER, 5, "initial", actor="a")
    assert (await inventory.reservations.held(), await inventory.stock.units_reserved()) == (0, 0)
    await inventory.reserve("r1", "o1", [(KNOWN, 3), (OTHER, 2)])
    await inventory.reserve("r2", "o2", [(KNOWN, 1)])
    assert (await inventory.reservations.held(), await inventory.stock.units_reserved()) == (2, 6)
    await inventory.commit("r1")
    await inventory.release("r2")
    assert (await inventory.reservations.held(), await inventory.stock.units_reserved()) == (0, 0)


async def test_the_gauges_are_read_through_the_scrape_time_probes(inventory, monkeypatch):
    metrics = ScrapeMetrics()
    monkeypatch.setattr(inventory_metrics, "scrape_metrics", lambda: metrics)
    inventory_metrics.register_gauges(inventory.stock, inventory.reservations)
    await inventory.adjust_stock(KNOWN, 10, "initial", actor="a")
    await inventory.reserve("r1", "o1", [(KNOWN, 4)])
    await metrics.refresh(SimpleNamespace(outbox=None, db=None, consumers=None, js=None))
    samples = {s.name: s.value for f in metrics.collect() for s in f.samples}
    assert samples == {"mercato_inventory_reservations_held": 1,
                       "mercato_inventory_units_reserved": 4}
