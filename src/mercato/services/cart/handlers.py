"""Cart commands and queries: load, apply the domain rules, store, price from the catalog."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from mercato.chassis import Problem
from mercato.chassis.clock import Clock, iso
from mercato.chassis.data.db import Connection
from mercato.contracts.envelope import Envelope
from mercato.contracts.orders import OrderConfirmed
from mercato.services.cart.catalog_client import CatalogUnavailable, ProductCatalog
from mercato.services.cart.domain import (
    CartFull,
    CurrencyMismatch,
    InvalidQuantity,
    Product,
    check_can_put,
    check_quantity,
    priced,
)
from mercato.services.cart.store import CartTx, SqlCartStore


@dataclass
class Carts:
    """The cart's handlers, with their dependencies."""

    store: SqlCartStore
    catalog: ProductCatalog
    clock: Clock

    async def view(self, user_id: str) -> dict:
        """The cart priced now: one catalog call for all its products (none if empty)."""
        cart = await self.store.get(user_id)
        products = await self._lookup(cart.product_ids) if cart.lines else {}
        return priced(cart, products)

    async def set_quantity(self, user_id: str, product_id: str, quantity: int) -> dict:
        with _problems():
            check_quantity(quantity)
            at = iso(self.clock())
            if quantity == 0:
                # No catalog check: a product gone from the catalog must still be removable.
                async with self.store.transaction() as tx:
                    await tx.remove_line(user_id, product_id, at)
                return await self.view(user_id)
            product = (await self._lookup([product_id])).get(product_id)
            if product is None:
                raise Problem(404, f"product {product_id} is not in the catalog")
            async with self.store.transaction() as tx:
                cart = await tx.get(user_id)
                check_can_put(cart, product)
                if cart.currency is None:
                    await tx.open(user_id, product.currency, at)
                await tx.put_line(user_id, product_id, quantity, at)
        return await self.view(user_id)

    async def clear(self, user_id: str) -> None:
        async with self.store.transaction() as tx:
            await tx.clear(user_id)

    async def on_order_confirmed(self, tx: Connection, envelope: Envelope,
                                 event: OrderConfirmed) -> None:
        """An order checked out from the cart is confirmed: its cart has been bought."""
        if event.from_cart:
            await CartTx(tx).clear(event.customer_id)

    async def _lookup(self, product_ids: Sequence[str]) -> dict[str, Product]:
        try:
            return await self.catalog.lookup(product_ids)
        except CatalogUnavailable as exc:
            raise Problem(503, f"prices are unavailable right now: {exc}",
                          kind="catalog-unavailable", headers={"Retry-After": "1"}) from exc


@contextmanager
def _problems() -> Iterator[None]:
    """Domain errors as the problems a client sees."""
    try:
        yield
    except InvalidQuantity as exc:
        raise Problem(422, f"quantity: {exc}", kind="invalid-request") from exc
    except CurrencyMismatch as exc:
        raise Problem(422, str(exc), kind="currency-mismatch", product_id=exc.product_id,
                      currency=exc.product_currency, cart_currency=exc.cart_currency) from exc
    except CartFull as exc:
        raise Problem(409, str(exc), kind="cart-full") from exc
