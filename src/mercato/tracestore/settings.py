"""The trace store's settings (``MERCATO_*`` environment variables), read once at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    """Where the store keeps its file and how much it keeps."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    data_dir: Path = Path(".mercato")
    host: str = "127.0.0.1"
    log_level: str = "info"
    # The last this many traces are kept, and at most this many MB of the file's pages
    # in use; past either the oldest traces (by first start) are dropped.
    trace_store_max_traces: int = Field(default=20_000, ge=1)
    trace_store_max_mb: float = Field(default=200.0, gt=0)
    # Largest export request accepted (an OTLP batch of 512 spans is well under 1 MB).
    trace_store_max_request_mb: float = Field(default=32.0, gt=0)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "traces" / "traces.db"

    @property
    def max_bytes(self) -> int:
        return int(self.trace_store_max_mb * 1024 * 1024)
