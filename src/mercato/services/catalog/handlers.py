"""Catalog commands and queries: load, apply the domain, store."""

from __future__ import annotations

from dataclasses import dataclass

from mercato.chassis import Problem
from mercato.chassis.clock import Clock, IdFactory, iso
from mercato.services.catalog.domain import CatalogError, DuplicateSku, Product
from mercato.services.catalog.store import SqlProductRepository


@dataclass
class Catalog:
    """The catalog's handlers, with their dependencies."""

    products: SqlProductRepository
    clock: Clock
    new_id: IdFactory

    async def create_product(self, fields: dict) -> Product:
        now = iso(self.clock())
        try:
            product = Product(id=self.new_id(), created_at=now, updated_at=now, **fields)
            await self.products.add(product)
        except DuplicateSku as exc:
            raise Problem(409, str(exc)) from exc
        except CatalogError as exc:
            raise Problem(422, str(exc)) from exc
        return product

    async def update_product(self, product_id: str, fields: dict) -> Product:
        product = await self.get_product(product_id)
        try:
            changed = product.changed(iso(self.clock()), **fields)
            await self.products.save(changed)
        except DuplicateSku as exc:
            raise Problem(409, str(exc)) from exc
        except CatalogError as exc:
            raise Problem(422, str(exc)) from exc
        return changed

    async def get_product(self, product_id: str) -> Product:
        product = await self.products.get(product_id)
        if product is None:
            raise Problem(404, f"product {product_id} was not found")
        return product
