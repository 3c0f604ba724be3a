"""The mobile BFF's own settings (the chassis settings are shared by every process)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MobileSettings(BaseSettings):
    """Read from ``MERCATO_MOBILE_*`` environment variables, once, by the composition root."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_MOBILE_", extra="ignore")

    featured: int = Field(default=4, ge=1, le=20)  # products on the home screen
    call_timeout: float = Field(default=1.5, gt=0)  # seconds per service call
    graphql_max_depth: int = Field(default=6, ge=2, le=20)
    graphql_max_tokens: int = Field(default=2000, ge=50)
    graphql_max_aliases: int = Field(default=15, ge=0)
    persisted_queries: int = Field(default=1000, ge=1)  # kept by hash (an LRU)
    graphql_call_budget: int = Field(default=64, ge=1)  # service calls per GraphQL request
