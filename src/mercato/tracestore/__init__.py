"""The embedded trace store (docs/trace-store.md): receives OTLP/HTTP trace exports from
every process of the platform into one bounded SQLite file and answers queries on them.

Public API: ``create_app`` (the aiohttp app), ``serve_traces`` (run it),
``StoreSettings``, ``TraceStore``, ``decode`` (an OTLP export into rows).
"""

from mercato.tracestore.api import create_app
from mercato.tracestore.otlp import decode
from mercato.tracestore.serve import serve_traces
from mercato.tracestore.settings import StoreSettings
from mercato.tracestore.store import TraceStore

__all__ = ["StoreSettings", "TraceStore", "create_app", "decode", "serve_traces"]
