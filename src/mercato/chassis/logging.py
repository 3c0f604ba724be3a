"""JSON logs on stderr, one line per event, carrying the request id and the process's name."""

from __future__ import annotations

import logging
import sys

import structlog

from mercato.chassis.context import request_id_var


def _add_request_id(_logger: object, _name: str, event: dict) -> dict:
    rid = request_id_var.get()
    if rid != "-":
        event.setdefault("request_id", rid)
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
    return structlog.get_logger(name)
