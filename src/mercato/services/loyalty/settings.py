"""Loyalty's own settings (the chassis settings are shared by every service)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LoyaltySettings(BaseSettings):
    """Read from ``MERCATO_*`` environment variables, once, by the composition root."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # MERCATO_LOYALTY_PAGE_MAX: the most entries one page of a customer's ledger may ask for.
    loyalty_page_max: int = Field(default=200, ge=1, le=1000)
