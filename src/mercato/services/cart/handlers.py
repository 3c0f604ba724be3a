"""Cart commands and queries: load, apply the domain rules, store, price from the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mercato.chassis.clock import Clock, iso
from mercato.chassis.data import Connection, Database
from mercato.chassis.errors import DependencyUnavailable, NotFound
from mercato.contracts.envelope import Envelope
from mercato.contracts.orders import OrderConfirmed
from mercato.services.cart.domain import (
    Product,
    check_can_put,
    check_quantity,
    left_after,
    priced,
)
from mercato.services.cart.ports import CartRepository, CatalogUnavailable, ProductCatalog


@dataclass
class Carts:
    """The cart's handlers, with their dependencies.

    Every write to a cart holds ``tx.lock("cart:<user id>")``: what is stored decides
    what is written (the currency, whether a line or the cart is new or the last one), and
    clearing holds it too, so a put never writes lines under a cart just deleted.
    """

    db: Database
    carts: CartRepository
    catalog: ProductCatalog
    clock: Clock

    async def view(self, user_id: str) -> dict:
        """The cart priced now: one catalog call for all its products (none if empty)."""
        cart = await self.carts.get(user_id)
        products = await self._lookup(cart.product_ids) if cart.lines else {}
        return priced(cart, products)

    async def set_quantity(self, user_id: str, product_id: str, quantity: int) -> dict:
        check_quantity(quantity)
        at = iso(self.clock())
        if quantity == 0:
            # No catalog check: a product gone from the catalog must still be removable.
            async with self.db.transaction() as tx:
                await tx.lock(f"cart:{user_id}")
                await self.carts.remove_line(tx, user_id, product_id, at)
            return await self.view(user_id)
        product = (await self._lookup([product_id])).get(product_id)
        if product is None:
            raise NotFound(f"product {product_id} is not in the catalog")
        async with self.db.transaction() as tx:
            await tx.lock(f"cart:{user_id}")
            cart = await self.carts.get(user_id, tx)
            check_can_put(cart, product)
            if cart.currency is None:
                await self.carts.open(tx, user_id, product.currency, at)
            await self.carts.put_line(tx, user_id, product_id, quantity, at)
        return await self.view(user_id)

    async def clear(self, user_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.lock(f"cart:{user_id}")
            await self.carts.clear(tx, user_id)

    async def on_order_confirmed(self, tx: Connection, envelope: Envelope,
                                 event: OrderConfirmed) -> None:
        """An order checked out from the cart is confirmed: the goods it bought leave the
        cart; what was put in since it was placed stays (``left_after``)."""
        if not event.from_cart:
            return
        user_id, at = event.customer_id, iso(self.clock())
        bought: dict[str, int] = {}
        for item in event.items:
            bought[item.product_id] = bought.get(item.product_id, 0) + item.quantity
        await tx.lock(f"cart:{user_id}")
        cart = await self.carts.get(user_id, tx)
        for product_id, left in left_after(cart, bought):
            if left:
                await self.carts.put_line(tx, user_id, product_id, left, at)
            else:
                await self.carts.remove_line(tx, user_id, product_id, at)

    async def _lookup(self, product_ids: Sequence[str]) -> dict[str, Product]:
        try:
            return await self.catalog.lookup(product_ids)
        except CatalogUnavailable as exc:
            raise DependencyUnavailable(f"prices are unavailable right now: {exc}",
                                        kind="catalog-unavailable", retry_after=1) from exc
