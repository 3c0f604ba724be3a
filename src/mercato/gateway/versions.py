"""What a deprecated route's answers say, in one place: the gateway adds them to every
answer of a route its table marks with a successor (policy.py ``SUCCESSORS``), and no
service knows of them.

- ``Deprecation: @<unix seconds>`` (RFC 9745): the route is deprecated since then;
- ``Sunset: <HTTP-date>`` (RFC 8594): it may stop answering after then;
- ``Link: <successor>; rel="successor-version"`` (RFC 8288, the relation of RFC 5829):
  the same resource in the newer version.

The dates are settings (``MERCATO_API_V1_DEPRECATED``, ``MERCATO_API_V1_SUNSET``,
bootstrap.py ``EdgeSettings``); the defaults below are the policy docs/api.md states.
"""

from __future__ import annotations

from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from urllib.parse import quote

DEPRECATED = date(2026, 12, 7)  # the day v2 of orders was published
SUNSET = date(2027, 6, 30)  # at least six months later


@dataclass(frozen=True)
class Deprecation:
    """The dates of v1's deprecation and sunset (midnight UTC of each)."""

    deprecated: date = DEPRECATED
    sunset: date = SUNSET

    def __post_init__(self) -> None:
        if self.sunset <= self.deprecated:
            raise ValueError(f"the sunset ({self.sunset}) must come after the deprecation"
                             f" ({self.deprecated})")

    def headers(self, successor: str) -> list[tuple[bytes, bytes]]:
        """The headers of an answer of a deprecated route whose successor is at the path
        ``successor`` (decoded, as the request's was; percent-encoded here, so nothing
        in it ends the link or the header)."""
        since = timegm(self.deprecated.timetuple())
        until = datetime(self.sunset.year, self.sunset.month, self.sunset.day, tzinfo=UTC)
        return [(b"deprecation", f"@{since}".encode()),
                (b"sunset", format_datetime(until, usegmt=True).encode()),
                (b"link", f'<{quote(successor, safe="/")}>; rel="successor-version"'.encode())]


# The same headers as the OpenAPI documents describe them (public_api.py).
DEPRECATION_HEADERS = {
    "Deprecation": {"description": "Deprecated since then (RFC 9745): @<unix seconds>",
                    "schema": {"type": "string", "pattern": "^@[0-9]+$"}},
    "Sunset": {"description": "May stop answering after then (RFC 8594), an HTTP-date",
               "schema": {"type": "string"}},
    "Link": {"description": 'The successor: <path>; rel="successor-version"',
             "schema": {"type": "string"}},
}
