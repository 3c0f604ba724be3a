"""Catalog domain: a product and the rules for changing it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mercato.chassis.errors import DomainError

EDITABLE = frozenset({"sku", "name", "description", "category", "price", "currency"})


class CatalogError(DomainError):
    """A rule of the catalog was broken; the message says which."""


class DuplicateSku(CatalogError):
    """Another product already has this SKU."""


@dataclass(frozen=True)
class Product:
    id: str
    sku: str
    name: str
    description: str
    category: str
    price: int
    currency: str
    created_at: str
    updated_at: str

    def __post_init__(self) -> None:
        if self.price < 0:
            raise CatalogError("price must not be negative")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise CatalogError("currency must be a three-letter ISO code such as USD")
        if not self.sku.strip() or not self.name.strip() or not self.category.strip():
            raise CatalogError("sku, name and category must not be blank")

    def differences(self, fields: dict) -> dict:
        """The subset of ``fields`` whose values differ from this product's: what an
        update really changes (an empty dict when it changes nothing)."""
        unknown = sorted(set(fields) - EDITABLE)
        if unknown:
            raise CatalogError("these fields cannot be changed: " + ", ".join(unknown))
        return {k: v for k, v in fields.items() if getattr(self, k) != v}

    def changed(self, at: str, **fields: object) -> Product:
        """A copy with ``fields`` changed (unknown names are refused by ``replace``)."""
        return replace(self, updated_at=at, **fields)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "sku": self.sku, "name": self.name,
            "description": self.description, "category": self.category,
            "price": self.price, "currency": self.currency,
            "created_at": self.created_at, "updated_at": self.updated_at,
        }
