"""Catalog commands and queries: load, apply the domain, store, and record the event in
the same transaction (transactional outbox). Reads go through the cache first
(cache-aside, ``ProductCache``) unless asked for ``fresh``; a change drops what it makes
stale here at once, and on the other instances when they hear its event
(``on_product_event``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from mercato.chassis.clock import Clock, IdFactory, iso
from mercato.chassis.data import Database
from mercato.chassis.errors import NotFound
from mercato.chassis.messaging import Outbox
from mercato.contracts.catalog import ProductCreated, ProductUpdated
from mercato.contracts.envelope import Envelope
from mercato.services.catalog.domain import Product
from mercato.services.catalog.ports import Page, ProductCache, ProductRepository, page_key

EVENT_NAMESPACE = uuid.UUID("f44ebc12-c8db-428a-ab1f-d5da44c5aee7")


def created_event_id(product_id: str) -> str:
    """A product is created once, so its ProductCreated has an id derived from it."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{product_id}/created"))


@dataclass
class Catalog:
    """The catalog's handlers, with their dependencies."""

    db: Database
    products: ProductRepository
    outbox: Outbox
    clock: Clock
    new_id: IdFactory
    cache: ProductCache

    async def create_product(self, fields: dict) -> Product:
        now = iso(self.clock())
        product = Product(id=self.new_id(), created_at=now, updated_at=now, **fields)
        async with self.db.transaction() as tx:
            await self.products.add(tx, product)
            await self.outbox.add(tx, ProductCreated(
                product_id=product.id, sku=product.sku, name=product.name,
                category=product.category, price=product.price, currency=product.currency,
            ), event_id=created_event_id(product.id))
        await self.cache.drop([])  # a new product may belong on any search page
        return product

    async def update_product(self, product_id: str, fields: dict) -> Product:
        """Change ``fields``; an update that changes nothing writes and publishes nothing."""
        async with self.db.transaction() as tx:
            # get, then save: two concurrent updates must not lose one (PostgreSQL's
            # READ COMMITTED; SQLite's single writer gave it already)
            await tx.lock("product:" + product_id)
            product = await self.products.get(product_id, tx)
            if product is None:
                raise NotFound(f"product {product_id} was not found")
            changes = product.differences(fields)
            if not changes:
                return product
            changed = product.changed(iso(self.clock()), **changes)
            await self.products.save(tx, changed)
            # Each update is its own event: a fresh id, never derived from the product.
            await self.outbox.add(tx, ProductUpdated(product_id=product.id, changes=changes),
                                  event_id=self.new_id())
        await self.cache.drop([product_id])
        return changed

    async def get_product(self, product_id: str) -> Product:
        found = await self.lookup([product_id])
        if product_id not in found:
            raise NotFound(f"product {product_id} was not found")
        return found[product_id]

    async def lookup(self, product_ids: list[str], *, fresh: bool = False
                     ) -> dict[str, Product]:
        """The products of ``product_ids`` that exist, by id (unknown ids are absent):
        what other services ask when they need several products at once. ``fresh``: from
        the store, never the cache (checkout prices an order with it)."""
        wanted = list(dict.fromkeys(product_ids))
        known = {} if fresh else await self.cache.get_many(wanted)
        missing = [pid for pid in wanted if pid not in known]
        if missing:
            stored = await self.products.get_many(missing)
            await self.cache.put(stored)
            known.update((p.id, p) for p in stored)
        return {pid: known[pid] for pid in wanted if pid in known}

    async def search(self, *, text: str | None, category: str | None, limit: int,
                     cursor: str | None) -> tuple[list[Product], str | None]:
        """A page of products (``ProductRepository.search``), from the cache when it has
        this query's page (``BadCursor`` for a cursor no search returned)."""
        key = page_key(text, category, limit, cursor)
        page = await self.cache.get_page(key)
        if page is None:
            items, next_cursor = await self.products.search(
                text=text, category=category, limit=limit, cursor=cursor)
            page = Page(tuple(items), next_cursor)
            await self.cache.put_page(key, page)
        return list(page.items), page.next_cursor

    async def on_product_event(self, _envelope: Envelope,
                               event: ProductCreated | ProductUpdated) -> None:
        """Another instance (or this one) changed a product: drop what is stale."""
        await self.cache.drop([] if isinstance(event, ProductCreated) else [event.product_id])
