"""Crash points for fault tests: named places where a test can make this process die.

A test enables them with ``MERCATO_FAULT_DIR`` (refused in production) and arms one by
creating the file ``<fault dir>/<service>.<point>``; the process deletes the file and
kills itself with SIGKILL when it reaches that point — once, so the restarted process
carries on. With no fault dir a crash point costs one attribute test.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from mercato.chassis.logging import get_logger

log = get_logger(__name__)


class CrashPoints:
    """The crash points armed for ``service`` (fault tests only): calling one that is armed
    (a file in ``directory``) kills the process on the spot."""

    def __init__(self, directory: Path | None, service: str) -> None:
        self.directory = directory
        self.service = service

    def __call__(self, point: str) -> None:
        if self.directory is None:
            return
        marker = self.directory / f"{self.service}.{point}"
        try:
            marker.unlink()
        except FileNotFoundError:
            return
        log.warning("fault_injected", point=point, action="SIGKILL")
        os.kill(os.getpid(), signal.SIGKILL)


NO_FAULTS = CrashPoints(None, "-")
