"""Every event the inventory consumes, listed in one place."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription
from mercato.contracts.catalog import ProductCreated
from mercato.services.inventory.handlers import Inventory


def subscriptions(app: FastAPI) -> list[Subscription]:
    inventory: Inventory = app.state.inventory
    return [Subscription("product_created", (ProductCreated,), inventory.on_product_created)]
