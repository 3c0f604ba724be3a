"""The inventory's own settings (the chassis settings are shared by every service)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InventorySettings(BaseSettings):
    """Read from ``MERCATO_*`` environment variables, once, by the composition root."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # Seconds a reservation holds its stock before the sweeper may give it back.
    reservation_ttl: float = Field(default=900.0, gt=0)
    # Seconds between two passes of the expiry sweeper.
    reservation_sweep_interval: float = Field(default=5.0, gt=0)

    def hold(self) -> timedelta:
        """How long a reservation holds its stock."""
        return timedelta(seconds=self.reservation_ttl)
