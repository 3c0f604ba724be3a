"""One OpenAPI 3.1 document for the public API, combined from the services' own.

Each service serves its document on its own port (every route, the internal ones too;
chassis/web/openapi.py declares its problem answers). The gateway publishes only what it
forwards: ``exposure(method, path)`` (the gateway's routing table) says whether an
operation is public through the gateway and what the gateway adds to it (security,
its own answers: 401, 403, 429, 503 ...); everything else (``/internal/...``, probes,
``/metrics``) is left out. The services' components are merged: a schema that is the same
everywhere (the Problem body) is kept once, any other is renamed ``<service>_<name>`` with
every reference to it. The gateway's own routes come as ready path items.

``Documents`` keeps each service's document for ``ttl`` seconds (the OPTIONS answers read
the same cache, methods.py); a service that cannot answer keeps its last document, and
one never read is left out of the combined document (named in ``x-mercato-missing``) and
asked again on the next request.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

Fetch = Callable[[str], Awaitable[dict]]  # a service's document, or raises
Exposure = Callable[[str, str], dict | None]  # (method, path template) -> additions | None
VERBS = ("get", "put", "post", "delete", "patch")
REF = "#/components/schemas/"


class Documents:
    """Each service's OpenAPI document, fetched with ``fetch`` and kept ``ttl`` seconds."""

    def __init__(self, fetch: Fetch, ttl: float = 60.0, clock=time.monotonic) -> None:
        self.fetch = fetch
        self.ttl = ttl
        self.clock = clock
        self._kept: dict[str, tuple[float, dict]] = {}

    async def of(self, service: str, *, stale_ok: bool = False) -> dict:
        """``service``'s document; raises what ``fetch`` raises when it has none to give
        (with ``stale_ok``, an expired one is given instead)."""
        kept = self._kept.get(service)
        if kept is not None and self.clock() - kept[0] <= self.ttl:
            return kept[1]
        try:
            document = await self.fetch(service)
        except Exception:
            if stale_ok and kept is not None:
                return kept[1]
            raise
        self._kept[service] = (self.clock(), document)
        return document


async def combined(documents: Documents, services: Iterable[str], exposure: Exposure,
                   own: dict, info: dict) -> dict:
    """The public document: each service's exposed operations, then the gateway's ``own``
    path items; ``x-mercato-missing`` names the services whose document was unavailable."""
    parts, missing = {}, []
    for service in services:
        try:
            parts[service] = await documents.of(service, stale_ok=True)
        except Exception:
            missing.append(service)
    document = combine(parts, exposure, own, info)
    if missing:
        document["x-mercato-missing"] = missing
    return document


def combine(parts: dict[str, dict], exposure: Exposure, own: dict, info: dict) -> dict:
    """One OpenAPI 3.1 document from ``parts`` (service -> its document) and ``own``."""
    paths: dict[str, dict] = {}
    schemas: dict[str, Any] = {}
    for service, document in parts.items():
        renames = _merge_components(service, document, schemas)
        for template, item in document.get("paths", {}).items():
            kept = {}
            for verb, operation in item.items():
                if verb not in VERBS:
                    continue
                added = exposure(verb.upper(), template)
                if added is not None:
                    kept[verb] = _expose(_renamed(operation, renames), added)
            if kept:
                paths.setdefault(template, {}).update(kept)
    for template, item in own.items():
        paths.setdefault(template, {}).update(copy.deepcopy(item))
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {
            "schemas": _reachable(paths, schemas),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }


def _merge_components(service: str, document: dict, schemas: dict) -> dict[str, str]:
    """Adds ``document``'s schemas to ``schemas``; the renames made, old -> new name."""
    own = document.get("components", {}).get("schemas", {})
    renames = {name: name if _shared(name, schema, schemas) else f"{service}_{name}"
               for name, schema in own.items()}
    for name, schema in own.items():
        schemas.setdefault(renames[name], _renamed(schema, renames))
    return renames


def _shared(name: str, schema: dict, schemas: dict) -> bool:
    """Kept under its own name: the same in every service, with no reference inside."""
    return schemas.get(name, schema) == schema and "$ref" not in json.dumps(schema)


def _reachable(paths: dict, schemas: dict) -> dict:
    """The schemas ``paths`` refer to, directly or through other schemas."""
    seen: set[str] = set()
    todo = _refs(paths)
    while todo:
        name = todo.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            todo |= _refs(schemas[name])
    return {name: schema for name, schema in schemas.items() if name in seen}


def _refs(node: Any) -> set[str]:
    text = json.dumps(node)
    return {part.split('"', 1)[0] for part in text.split('"' + REF)[1:]}


def _renamed(node: Any, renames: dict[str, str]) -> Any:
    """A deep copy of ``node`` with its component references renamed."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF):
                value = REF + renames.get(value[len(REF):], value[len(REF):])
            out[key] = _renamed(value, renames)
        return out
    if isinstance(node, list):
        return [_renamed(value, renames) for value in node]
    return node


def _expose(operation: dict, added: dict) -> dict:
    """``operation`` with the gateway's additions: ``security`` replaced, ``responses``
    added where the service declares none for that status, ``deprecated`` when given, and
    ``headers`` (the gateway's on every success) added to each 2xx answer."""
    out = dict(operation)
    if "security" in added:
        out["security"] = added["security"]
    if added.get("deprecated"):
        out["deprecated"] = True
    responses = dict(out.get("responses", {}))
    for status, response in added.get("responses", {}).items():
        responses.setdefault(str(status), response)
    if "headers" in added:
        responses = {status: {**response, "headers": {**response.get("headers", {}),
                                                        **added["headers"]}}
                     if status.startswith("2") else response
                     for status, response in responses.items()}
    out["responses"] = responses
    return out
