"""One path for routing, access and forwarding: the gateway refuses a path that another
reader could take for a different one.

The gateway decides on the path it was sent, and the HTTP client that forwards it (yarl)
removes dot segments: ``/api/v1/identity/./token`` was authorised and rate-limited as
something other than the sign-in it became upstream, and ``/api/v1/catalog/../../metrics``
reached the catalog's own ``/metrics``. Rather than normalise (and then have to prove every
reader normalises the same way), a path is refused with a 400 when it holds a dot segment,
an empty segment (``//``, or a trailing ``/``), a backslash, a control character, or a
percent-encoded dot, slash or backslash: what is left means one thing to every reader, and
the gateway routes, authorises, limits and forwards that same string.
"""

from __future__ import annotations

import re

_ENCODED = re.compile(rb"%(2e|2f|5c)", re.IGNORECASE)
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


def ambiguous(raw_path: bytes) -> str | None:
    """Why ``raw_path`` (as sent, before percent-decoding) is refused, or None."""
    if _ENCODED.search(raw_path):
        return "a percent-encoded dot, slash or backslash"
    if b"\\" in raw_path:
        return "a backslash"
    if _CONTROL.search(raw_path):
        return "a control character"
    segments = raw_path.split(b"/")[1:]
    if any(s in (b".", b"..") for s in segments):
        return "a dot segment"
    if any(s == b"" for s in segments) and raw_path != b"/":
        return "an empty segment (// or a trailing /)"
    return None
