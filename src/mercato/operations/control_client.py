"""The client side of the supervisor's control socket (``platform/control.py`` serves it): one
JSON line each way over ``<data dir>/run/control.sock``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path


class ControlError(Exception):
    """The control socket is unreachable, or it refused the request (the reason)."""


def socket_path(data_dir: Path) -> Path:
    return Path(data_dir) / "run" / "control.sock"


async def request(path: Path, op: str, **args) -> object:
    """One request to the running supervisor; raises ``ControlError``."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(path))
    except OSError as exc:
        raise ControlError(f"cannot reach `mercato up` on {path}: {exc.strerror or exc}") \
            from None
    try:
        writer.write(json.dumps({"op": op, **args}).encode() + b"\n")
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
    if not line:
        raise ControlError("`mercato up` closed the control socket without an answer")
    answer = json.loads(line)
    if not answer.get("ok"):
        raise ControlError(answer.get("error", "refused"))
    return answer["result"]
