"""v1 of orders, proven unchanged: answers recorded before API v2 existed
(``examples/v1_*.json``) against live ones, key for key and type for type.

The values differ from run to run (ids, times); the shape may not: the same keys at every
level in the same order, each value of the same JSON type (``null`` is a type of its own),
and every element of a list shaped like the recording's first one.
"""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLES = Path(__file__).parent / "examples"
RECORDED = ("v1_order_placed", "v1_orders", "v1_order")


def recorded(name: str) -> dict:
    """The recorded example ``name``: ``{request, status, body}``."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    for kind, name in ((float, "number"), (str, "string"), (list, "array"), (dict, "object")):
        if isinstance(value, kind):
            return name
    raise TypeError(f"not a JSON value: {value!r}")


def shape_differences(recording, live, where: str = "$") -> list[str]:
    """Where ``live`` is not shaped as ``recording`` (empty: the same shape)."""
    if json_type(recording) != json_type(live):
        return [f"{where}: {json_type(live)} where the recording has {json_type(recording)}"]
    if isinstance(recording, dict):
        found = [f"{where}: no {k!r}" for k in recording if k not in live]
        found += [f"{where}: {k!r} is new" for k in live if k not in recording]
        if not found and list(live) != list(recording):
            found.append(f"{where}: the keys in another order ({', '.join(live)})")
        for key in recording.keys() & live.keys():
            found += shape_differences(recording[key], live[key], f"{where}.{key}")
        return found
    if isinstance(recording, list) and recording:
        return [d for i, element in enumerate(live)
                for d in shape_differences(recording[0], element, f"{where}[{i}]")]
    return []


def assert_shaped_as_recorded(name: str, status: int, body) -> None:
    """``status`` and ``body`` are the recording ``name``'s status and shape."""
    example = recorded(name)
    assert status == example["status"], (name, status, body)
    differences = shape_differences(example["body"], body)
    assert not differences, (name, differences)
