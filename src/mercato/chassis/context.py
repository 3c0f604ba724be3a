"""Per-request context carried through logs and outgoing calls: the request id and the
caller's deadline. (The trace context is OpenTelemetry's: ``chassis/telemetry``.)"""

from __future__ import annotations

import os
from contextvars import ContextVar

from mercato.chassis.clock import RecentMinimum

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
# costs a refusal each instead of work nobody will see.
#
# The deadline is on the caller's clock, which may disagree with the callee's (F11: one
# service 5 minutes off; read as is, every request from or to it was "late"). So the
# value also says when it was sent and by which process (``1002.500;sent=1000.000;by=ab12``):
# the callee keeps, per calling process, the smallest difference it has seen between its
# own clock at arrival and the caller's at sending — the clock offset plus the quickest
# transit — and reads each deadline shifted by it. What remains is the time a request
# waited longer than the quickest one did, which is what a backlog adds. A process's id
# is new at every start, so a restart with another clock starts a fresh estimate.
DEADLINE_HEADER = "X-Mercato-Deadline"
PROCESS = os.urandom(6).hex()  # this process, as the sender of deadlines
RESTIMATE = 300.0  # seconds: a caller's offset is the least of the last one to two of these
MOST_CALLERS = 1024


def deadline_in(seconds: float, now: float) -> str:
    """The header's value for a caller that waits ``seconds`` from ``now`` (Unix time)."""
    return f"{now + seconds:.3f};sent={now:.3f};by={PROCESS}"


def deadline_passed(value: bytes | str | None, now: float) -> float | None:
    """How many seconds ago the caller's deadline passed by ``now`` read as is, or None if
    it has not (or the header is absent or not a number, which is ignored)."""
    parsed = _parse(value)
    if parsed is None:
        return None
    late = now - parsed[0]
    return late if late > 0 else None


class CallerClocks:
    """Each calling process's clock offset from ours, estimated from its requests (see
    above: the least arrived-minus-sent over the last one to two ``RESTIMATE`` seconds);
    ``late`` is ``deadline_passed`` with the deadline moved onto our clock."""

    def __init__(self) -> None:
        self._offsets: dict[str, RecentMinimum] = {}  # by calling process

    def late(self, value: bytes | str | None, now: float) -> float | None:
        parsed = _parse(value)
        if parsed is None:
            return None
        deadline, sent, by = parsed
        if sent is None or by is None:
            late = now - deadline
        else:
            offsets = self._offsets.setdefault(by, RecentMinimum(RESTIMATE))
            late = now - offsets.add(now - sent, now) - deadline
            if len(self._offsets) > MOST_CALLERS:  # the longest silent goes
                del self._offsets[min(self._offsets, key=lambda k: self._offsets[k].last)]
        return late if late > 0 else None


def _parse(value: bytes | str | None) -> tuple[float, float | None, str | None] | None:
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    deadline, *fields = text.split(";")
    extra = dict(f.split("=", 1) for f in fields if "=" in f)
    try:
        sent = float(extra["sent"]) if "sent" in extra else None
        return float(deadline), sent, extra.get("by")
    except ValueError:
        return None
