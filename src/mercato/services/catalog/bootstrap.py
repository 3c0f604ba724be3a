"""The catalog's composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from mercato.chassis import Runtime, create_service
from mercato.chassis.clock import new_id, utc_now
from mercato.services.catalog.api import router
from mercato.services.catalog.cache import MemoryProductCache, NoProductCache
from mercato.services.catalog.errors import ERRORS
from mercato.services.catalog.handlers import Catalog
from mercato.services.catalog.ports import ProductCache
from mercato.services.catalog.settings import CatalogSettings
from mercato.services.catalog.store import SqlProductRepository
from mercato.services.catalog.subscriptions import broadcasts

MIGRATIONS = Path(__file__).parent / "migrations"


def product_cache(settings: CatalogSettings, nats_url: str) -> ProductCache:
    """In Redis when the platform has one (the production profile), else in process;
    none with a TTL of 0."""
    ttl = settings.catalog_cache_ttl
    if ttl == 0:
        return NoProductCache()
    if settings.redis_url:  # redis is imported by the production profile only
        from mercato.services.catalog.cache_redis import RedisProductCache

        return RedisProductCache(settings.redis_url, prefix=settings.prefix(nats_url), ttl=ttl,
                                 timeout=settings.catalog_cache_redis_timeout)
    return MemoryProductCache(ttl, products=settings.catalog_cache_products,
                              pages=settings.catalog_cache_pages)


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    cache = product_cache(CatalogSettings(), runtime.settings.nats_url)
    if close := getattr(cache, "close", None):  # Redis's connections
        runtime.on_stop(close)
    app.state.catalog = Catalog(db=runtime.db, products=SqlProductRepository(runtime.db),
                                outbox=runtime.outbox, clock=utc_now, new_id=new_id,
                                cache=cache)


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=MIGRATIONS,
                          on_start=_wire, publishes=True, errors=ERRORS, broadcasts=broadcasts,
                          rpc="mercato.services.catalog.grpc_api:catalog")
