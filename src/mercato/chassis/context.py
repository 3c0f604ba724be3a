"""Per-request context carried through logs and outgoing calls: the request id and the
caller's deadline. (The trace context is OpenTelemetry's: ``chassis/telemetry``.)"""

from __future__ import annotations

import os
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


def new_request_id() -> str:
    """A fresh request id: 24 hex characters."""
    return os.urandom(12).hex()


def valid_request_id(value: str | None) -> bool:
    """Whether a caller's ``X-Request-ID`` may be kept: present, printable, at most 128."""
    return bool(value) and len(value) <= 128 and value.isprintable()  # type: ignore[union-attr]


# A caller's deadline travels with each request: the Unix time (seconds) after which the
# caller no longer waits for the answer (the gateway's call timeout, or a service's
# attempt timeout). A request that reaches a service's code after it has passed is
# refused before any work (chassis/web/middleware.py): under overload, the backlog then
# costs a refusal each instead of work nobody will see. Absolute times assume the
# processes' clocks agree, as they do on one host (and within NTP's error across hosts,
# small against seconds-long timeouts).
DEADLINE_HEADER = "X-Mercato-Deadline"


def deadline_in(seconds: float, now: float) -> str:
    """The header's value for a caller that waits ``seconds`` from ``now`` (Unix time)."""
    return f"{now + seconds:.3f}"


def deadline_passed(value: bytes | str | None, now: float) -> float | None:
    """How many seconds ago the caller's deadline passed, or None if it has not (or the
    header is absent or not a number, which is ignored)."""
    if not value:
        return None
    try:
        late = now - float(value)
    except ValueError:
        return None
    return late if late > 0 else None
