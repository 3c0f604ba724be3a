"""JSON logs on stderr, one line per event, carrying the process's name, the request id and,
while a span is active, its ``trace_id`` and ``span_id`` (``mercato logs --trace``)."""

from __future__ import annotations

import logging
import sys

import structlog
from opentelemetry import trace

from mercato.chassis.context import request_id_var


def _add_request_id(_logger: object, _name: str, event: dict) -> dict:
    rid = request_id_var.get()
    if rid != "-":
        event.setdefault("request_id", rid)
    return event


def _add_trace(_logger: object, _name: str, event: dict) -> dict:
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event.setdefault("trace_id", f"{ctx.trace_id:032x}")
        event.setdefault("span_id", f"{ctx.span_id:016x}")
    return event


def configure_logging(process: str, level: str = "info") -> None:
    """Send structlog and stdlib logs as JSON lines to stderr, tagged with ``process``."""
    lvl = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=lvl, format="%(message)s", force=True)
    for noisy in ("uvicorn.access", "nats", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_request_id,
            _add_trace,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(process=process)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """The structlog logger of module ``name``: JSON lines, with the request context."""
    return structlog.get_logger(name)
