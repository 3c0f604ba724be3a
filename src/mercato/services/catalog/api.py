"""Catalog HTTP routes: parse, authorize, call a handler, shape the response."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from mercato.chassis import Principal, require_admin, require_service
from mercato.chassis.web import Problem, problems
from mercato.services.catalog.handlers import Catalog
from mercato.services.catalog.ports import BadCursor

router = APIRouter()
Sku = Annotated[str, Field(min_length=1, max_length=64)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Category = Annotated[str, Field(min_length=1, max_length=100)]
Price = Annotated[StrictInt, Field(ge=0, le=10**12)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class NewProduct(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    name: Name
    description: Annotated[str, Field(max_length=5000)] = ""
    category: Category
    price: Price
    currency: Currency = "USD"


class ProductChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku | None = None
    name: Name | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None
    category: Category | None = None
    price: Price | None = None
    currency: Currency | None = None


class ProductOut(BaseModel):
    """A product as answered (documented only: the handler's dict is sent as it is)."""
    id: str
    sku: str
    name: str
    description: str
    category: str
    price: StrictInt
    currency: Currency
    created_at: str
    updated_at: str


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None


class Lookup(BaseModel):
    ids: Annotated[list[str], Field(max_length=500)]
    # From the store, never the cache: orders prices an order with it (docs/catalog.md).
    fresh: StrictBool = False


# Where a new product's id leads (OpenAPI links: clients and schemathesis' stateful runs).
PRODUCT_LINKS = {
    "GetProduct": {"operationRef": "#/paths/~1api~1v1~1catalog~1products~1{product_id}/get",
                   "parameters": {"product_id": "$response.body#/id"}},
    "UpdateProduct": {
        "operationRef": "#/paths/~1api~1v1~1catalog~1products~1{product_id}/patch",
        "parameters": {"product_id": "$response.body#/id"}},
}


async def catalog(request: Request) -> Catalog:
    return request.app.state.catalog


@router.get("/api/v1/catalog/products", response_model=None,
            responses={200: {"model": ProductPage}})
async def list_products(
    q: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    handlers: Catalog = Depends(catalog),
) -> dict:
    try:
        items, next_cursor = await handlers.search(
            text=q, category=category, limit=limit, cursor=cursor
        )
    except BadCursor as exc:
        raise Problem(400, f"cursor: {exc}") from exc
    return {"items": [p.as_dict() for p in items], "next_cursor": next_cursor}


@router.get("/api/v1/catalog/categories")
async def list_categories(handlers: Catalog = Depends(catalog)) -> dict:
    return {"items": [{"name": name, "product_count": n}
                      for name, n in await handlers.products.categories()]}


@router.get("/api/v1/catalog/products/{product_id}", response_model=None,
            responses={200: {"model": ProductOut}})
async def get_product(product_id: str, handlers: Catalog = Depends(catalog)) -> dict:
    return (await handlers.get_product(product_id)).as_dict()


@router.post("/api/v1/catalog/products", status_code=201, response_model=None,
             responses={**problems(409), 201: {"model": ProductOut, "links": PRODUCT_LINKS}})
async def create_product(
    body: NewProduct,
    _admin: Principal = Depends(require_admin),
    handlers: Catalog = Depends(catalog),
) -> dict:
    return (await handlers.create_product(body.model_dump())).as_dict()


@router.patch("/api/v1/catalog/products/{product_id}", response_model=None,
             responses={**problems(409), 200: {"model": ProductOut}})
async def update_product(
    product_id: str,
    body: ProductChange,
    _admin: Principal = Depends(require_admin),
    handlers: Catalog = Depends(catalog),
) -> dict:
    fields = body.model_dump(exclude_unset=True)
    if any(v is None for v in fields.values()):
        raise Problem(422, "fields may not be set to null: "
                      + ", ".join(k for k, v in fields.items() if v is None))
    return (await handlers.update_product(product_id, fields)).as_dict()


@router.post("/internal/products/lookup")
async def lookup_products(
    body: Lookup,
    _caller: Principal = Depends(require_service("orders", "inventory", "cart", "gateway",
                                                 "mobile-bff")),
    handlers: Catalog = Depends(catalog),
) -> dict:
    """Products by id for other services; unknown ids are simply absent. ``fresh``: read
    from the store, not the cache (what checkout prices an order with)."""
    found = await handlers.lookup(body.ids, fresh=body.fresh)
    return {"products": {pid: product.as_dict() for pid, product in found.items()}}
