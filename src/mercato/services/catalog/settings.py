"""The catalog's own settings (the chassis settings are shared by every service)."""

from __future__ import annotations

import hashlib

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class CatalogSettings(BaseSettings):
    """Read from ``MERCATO_*`` environment variables, once, by the composition root."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # Seconds a cached product or search page may be served (0: no cache). Each change
    # drops its entries on every instance at once (docs/catalog-cache.md); the TTL only
    # bounds how stale an entry can be if that drop was missed.
    catalog_cache_ttl: float = Field(default=30.0, ge=0)
    # Bounds of the in-process cache (least recently used first out).
    catalog_cache_products: int = Field(default=10_000, ge=1)
    catalog_cache_pages: int = Field(default=1_000, ge=1)
    # Set (the production profile): the cache is in Redis, shared by the instances.
    redis_url: str | None = None
    # Keys in Redis start with this; empty: ``mercato:<platform>:catalog:``, the platform
    # told by its NATS URL (the instances that hear the same events share the entries).
    catalog_cache_prefix: str = ""
    # Seconds Redis may take to answer before a read goes to the store instead.
    catalog_cache_redis_timeout: float = Field(default=0.1, gt=0)

    @field_validator("redis_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    def prefix(self, nats_url: str) -> str:
        """The Redis key prefix of this platform's catalog cache."""
        if self.catalog_cache_prefix:
            return self.catalog_cache_prefix
        return f"mercato:{hashlib.sha256(nats_url.encode()).hexdigest()[:12]}:catalog:"
