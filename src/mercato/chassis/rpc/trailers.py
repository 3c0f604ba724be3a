"""What a gRPC answer carries besides its message, the same on both sides: a refusal's
HTTP status, problem kind and facts in trailing metadata, so a gRPC caller learns exactly
what an HTTP caller reads in a problem (docs/internal-transport.md §1)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mercato.chassis.errors import Answer

STATUS, KIND, FACTS = "mercato-status", "mercato-kind", "mercato-facts"


def trailers_of(answer: Answer) -> tuple[tuple[str, str], ...]:
    """The trailing metadata of a refusal."""
    found = [(STATUS, str(answer.status))]
    if answer.kind:
        found.append((KIND, answer.kind))
    if answer.facts:
        found.append((FACTS, json.dumps(answer.facts, separators=(",", ":"), default=str)))
    return tuple(found)


def read_trailers(metadata: Iterable[tuple[str, Any]] | None
                  ) -> tuple[int | None, str, dict]:
    """(status, kind, facts) from a refusal's trailing metadata; status None when the
    answer did not come from a Mercato servicer (gRPC's own, or a proxy's)."""
    found = dict(metadata or ())
    status = found.get(STATUS)
    try:
        facts = json.loads(found.get(FACTS, "{}"))
    except ValueError:
        facts = {}
    return (int(status) if status and str(status).isdigit() else None,
            str(found.get(KIND, "")), facts if isinstance(facts, dict) else {})
