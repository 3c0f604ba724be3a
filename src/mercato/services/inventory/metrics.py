"""The inventory's gauges: what it holds for checkouts, read at each scrape of /metrics."""

from __future__ import annotations

from mercato.chassis.telemetry import scrape_metrics
from mercato.services.inventory.ports import ReservationRepository, StockRepository


def register_gauges(stock: StockRepository, reservations: ReservationRepository) -> None:
    """Reservations held and units reserved, each a query run when Prometheus scrapes."""
    metrics = scrape_metrics()
    metrics.add_probe("mercato_inventory_reservations_held", "Reservations holding stock "
                      "for a checkout (not yet committed, released or expired)",
                      reservations.held)
    metrics.add_probe("mercato_inventory_units_reserved", "Units of stock held by "
                      "reservations", stock.units_reserved)
