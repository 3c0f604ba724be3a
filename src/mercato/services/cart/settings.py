"""The cart's own settings (the chassis settings are shared by every service)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CartSettings(BaseSettings):
    """Read from ``MERCATO_*`` environment variables, once, by the composition root."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # MERCATO_CART_PRICE_TTL: seconds a price the catalog gave is reused (0: ask every time).
    cart_price_ttl: float = Field(default=1.0, ge=0)
