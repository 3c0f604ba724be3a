"""Every event the catalog listens to, listed in one place: its own product events, heard
by every instance (a ``Broadcast``, not a durable subscription) so that each drops the
cache entries a change on any instance made stale."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Broadcast, Subscription
from mercato.contracts.catalog import ProductCreated, ProductUpdated
from mercato.services.catalog.handlers import Catalog


def subscriptions(_app: FastAPI) -> list[Subscription]:
    return []  # the catalog consumes no other service's events


def broadcasts(app: FastAPI) -> list[Broadcast]:
    catalog: Catalog = app.state.catalog
    return [Broadcast("product_changes", (ProductCreated, ProductUpdated),
                      catalog.on_product_event)]
