"""The fault matrix (docs/chaos.md §3): every fault ``mercato chaos`` can inject, by id.

One module per family of faults, each fault a ``base.Fault``; add a new one to
``FAULTS`` below (in matrix order).
"""

from __future__ import annotations

from pathlib import Path

from mercato.chaos.faults.base import Check, Fault, Target, crash_points, until
from mercato.chaos.faults.broker import BrokerDataLoss
from mercato.chaos.faults.clock import SkewClock
from mercato.chaos.faults.database import DatabaseRefuses
from mercato.chaos.faults.keys import RotateKeys
from mercato.chaos.faults.kills import KillBroker, KillService, nats_pids
from mercato.chaos.faults.messages import ResendEvents
from mercato.chaos.faults.network import PartitionPayments, SlowParticipant
from mercato.chaos.faults.provider import LyingProvider
from mercato.chaos.faults.races import LastUnitRace
from mercato.chaos.faults.relay import RelayCrash

FAULTS: dict[str, type[Fault]] = {f.id: f for f in (
    KillService,
    KillBroker,
    RelayCrash,
    BrokerDataLoss,
    SlowParticipant,
    PartitionPayments,
    ResendEvents,
    LyingProvider,
    DatabaseRefuses,
    LastUnitRace,
    SkewClock,
    RotateKeys,
)}


def lengths(step_deadline: float) -> dict[str, tuple[float, float]]:
    """Each available fault's window (shortest, longest seconds), in matrix order."""
    ordered = sorted(FAULTS, key=lambda fid: int(fid[1:]))
    return {fid: FAULTS[fid].window(step_deadline) for fid in ordered}


def platform_env() -> dict[str, str]:
    """The settings a chaos platform starts with so that every fault can be injected."""
    env: dict[str, str] = {}
    for fault in FAULTS.values():
        env |= fault.platform_env
    return env


def prepare(data_dir: Path) -> None:
    """What the faults need of a chaos platform's data dir before it starts."""
    for fault in FAULTS.values():
        fault.prepare(data_dir)


def release(data_dir: Path) -> None:
    """Undo ``prepare`` after the platform stopped."""
    for fault in FAULTS.values():
        fault.release(data_dir)


__all__ = ["FAULTS", "Check", "Fault", "Target", "crash_points", "lengths", "nats_pids",
           "platform_env", "prepare", "release", "until"]
