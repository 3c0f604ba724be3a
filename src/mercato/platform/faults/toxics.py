"""What a fault proxy does to the bytes of one direction of a link (docs/chaos.md §2).

``Toxics`` is plain data: the proxy reads it afresh for every chunk, so a change applies
to the connections already open. ``Link`` holds both directions and what happens to new
connections (``drop``, ``enabled``).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

DIRECTIONS = ("upstream", "downstream")  # client -> server, server -> client


class BadToxic(ValueError):
    """A toxic's name or value the proxy does not know or cannot use."""


@dataclass(frozen=True)
class Toxics:
    """One direction's toxics; the defaults do nothing."""

    latency_ms: float = 0.0  # each chunk held this long before it is forwarded...
    jitter_ms: float = 0.0  # ...plus or minus up to this
    bandwidth: int = 0  # bytes per second at most (0: unbounded)
    slice_size: int = 0  # chunks cut into pieces of this many bytes (0: whole)...
    slice_delay_ms: float = 0.0  # ...this far apart
    reset_after: int = 0  # the connection reset (RST) once this many bytes passed (0: never)
    close_after: int = 0  # the connection closed (FIN) after this many bytes (0: never)
    blackhole: bool = False  # bytes read and thrown away; nothing forwarded
    stall: bool = False  # bytes held until the stall is lifted

    def delay(self, rng: random.Random) -> float:
        """Seconds to hold the next chunk (latency with jitter, never negative)."""
        if not self.latency_ms and not self.jitter_ms:
            return 0.0
        return max(0.0, self.latency_ms + rng.uniform(-self.jitter_ms, self.jitter_ms)) / 1000

    def pieces(self, chunk: bytes) -> list[bytes]:
        """``chunk`` as it is to be written: whole, or cut into ``slice_size`` pieces."""
        if not self.slice_size:
            return [chunk]
        return [chunk[i:i + self.slice_size] for i in range(0, len(chunk), self.slice_size)]


@dataclass(frozen=True)
class Link:
    """Both directions of a proxy and its rule for new connections."""

    upstream: Toxics = field(default_factory=Toxics)
    downstream: Toxics = field(default_factory=Toxics)
    drop: float = 0.0  # the share of new connections closed at once (0 to 1)
    enabled: bool = True  # False: new connections refused, open ones cut

    def changed(self, changes: dict[str, Any]) -> Link:
        """This link with ``changes`` applied: ``{"drop": 0.2, "enabled": false,
        "upstream": {"latency_ms": 50}, "downstream": {...}}`` (a direction's toxics not
        named keep their values); ``BadToxic`` names anything unknown or out of range."""
        link = self
        for key, value in changes.items():
            if key in DIRECTIONS:
                if not isinstance(value, dict):
                    raise BadToxic(f"{key}: expected an object of toxics, got {value!r}")
                link = replace(link, **{key: _toxics(getattr(link, key), key, value)})
            elif key == "drop":
                if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                    raise BadToxic(f"drop: a share between 0 and 1, got {value!r}")
                link = replace(link, drop=float(value))
            elif key == "enabled":
                if not isinstance(value, bool):
                    raise BadToxic(f"enabled: true or false, got {value!r}")
                link = replace(link, enabled=value)
            else:
                raise BadToxic(f"unknown setting {key!r}: use upstream, downstream, drop "
                               "or enabled")
        return link

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def active(self) -> dict[str, Any]:
        """Only what differs from a healthy link (``{}`` when nothing is in force)."""
        healthy, now = asdict(Link()), asdict(self)
        out: dict[str, Any] = {}
        for key, value in now.items():
            if isinstance(value, dict):
                changed = {k: v for k, v in value.items() if v != healthy[key][k]}
                if changed:
                    out[key] = changed
            elif value != healthy[key]:
                out[key] = value
        return out


def both(**toxics: Any) -> dict[str, Any]:
    """``Link.changed``'s argument for the same toxics both ways: ``both(stall=True)``."""
    return {"upstream": dict(toxics), "downstream": dict(toxics)}


_KINDS = {f.name: f.type for f in fields(Toxics)}


def _toxics(current: Toxics, direction: str, values: dict[str, Any]) -> Toxics:
    for name, value in values.items():
        kind = _KINDS.get(name)
        if kind is None:
            raise BadToxic(f"{direction}.{name}: unknown toxic; known: {', '.join(_KINDS)}")
        if kind == "bool":
            if not isinstance(value, bool):
                raise BadToxic(f"{direction}.{name}: true or false, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise BadToxic(f"{direction}.{name}: a number of at least 0, got {value!r}")
        elif kind == "int" and value != int(value):
            raise BadToxic(f"{direction}.{name}: a whole number, got {value!r}")
    cast = {k: (int(v) if _KINDS[k] == "int" else v) for k, v in values.items()}
    return replace(current, **cast)
