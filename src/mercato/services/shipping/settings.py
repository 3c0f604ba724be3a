"""Shipping's own settings (the chassis settings are shared by every service)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ShippingSettings(BaseSettings):
    """Read from ``MERCATO_*`` environment variables, once, by the composition root."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # Comma-separated ISO country codes shipping does not serve.
    shipping_blocked_countries: str = "AQ"
    # MERCATO_COURIER_SPEEDUP: how much faster than the demo's pace the simulated courier
    # moves (1: labelled ~30 s, in transit ~1 min, delivered ~3 min after confirmation).
    courier_speedup: float = Field(default=1.0, gt=0)

    def blocked(self) -> frozenset[str]:
        codes = (c.strip().upper() for c in self.shipping_blocked_countries.split(","))
        return frozenset(c for c in codes if c)
