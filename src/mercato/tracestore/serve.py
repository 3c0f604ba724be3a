"""Run the trace store: ``mercato serve traces --port P`` (what ``mercato up`` starts).

It sets up no OpenTelemetry tracing for itself: it would trace its own ingestion, each
export causing spans that cause another export.
"""

from __future__ import annotations

import uvloop
from aiohttp import web

from mercato.chassis.logging import configure_logging, get_logger
from mercato.tracestore.api import create_app
from mercato.tracestore.settings import StoreSettings
from mercato.tracestore.store import TraceStore

log = get_logger(__name__)


def serve_traces(settings: StoreSettings, port: int) -> None:
    """Serve the store on ``settings.host:port`` until SIGINT/SIGTERM."""
    configure_logging("traces", settings.log_level)
    store = TraceStore(settings.db_path, max_traces=settings.trace_store_max_traces,
                       max_bytes=settings.max_bytes)
    app = create_app(store, max_request_bytes=int(settings.trace_store_max_request_mb
                                                   * 1024 * 1024))
    log.info("trace_store_starting", path=str(settings.db_path), port=port,
             max_traces=settings.trace_store_max_traces,
             max_mb=settings.trace_store_max_mb)
    web.run_app(app, host=settings.host, port=port, print=None, access_log=None,
                loop=uvloop.new_event_loop(), shutdown_timeout=5)
