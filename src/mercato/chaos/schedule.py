"""When each fault is in force during a chaos run: pure, drawn from the seed.

The schedule is a list of non-overlapping ``Window``s (a fault id, its start and end in
seconds from the run's start) inside ``[LEAD, duration - TAIL]``: the load gets a few
seconds to warm up before the first fault, and the last one is healed a little before the
load stops, so what is checked afterwards is recovery and not a fault still in force.
Every requested fault gets one window first (in a seeded order, shortened toward its
shortest length when the run is short) when the duration allows;
the time left is filled with more windows of faults picked at random, and the spare time
is spread over the gaps. The same seed, faults and duration give the same schedule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MATRIX = tuple(f"F{n}" for n in range(1, 13))  # docs/chaos.md §3
LEAD = 3.0  # seconds of load before the first fault
TAIL = 2.0  # seconds of load after the last fault is healed
GAP = 1.0  # seconds at least between two windows


class UnknownFault(ValueError):
    """A fault id that is not in the matrix, or not built yet."""


@dataclass(frozen=True)
class Window:
    fault: str
    start: float
    end: float


def parse_faults(text: str, available: dict[str, tuple[float, float]]) -> list[str]:
    """``"F1,F5, f6"`` -> ``["F1", "F5", "F6"]`` (order kept, duplicates dropped);
    UnknownFault names the ids refused and the ones available."""
    wanted = list(dict.fromkeys(p.strip().upper() for p in text.split(",") if p.strip()))
    if not wanted:
        raise UnknownFault(f"no fault given; available: {', '.join(available)}")
    unknown = [f for f in wanted if f not in MATRIX]
    unbuilt = [f for f in wanted if f in MATRIX and f not in available]
    reasons = []
    if unknown:
        reasons.append(f"not in the fault matrix: {', '.join(unknown)}")
    if unbuilt:
        reasons.append(f"not built yet: {', '.join(unbuilt)}")
    if reasons:
        raise UnknownFault(f"{'; '.join(reasons)} (available: {', '.join(available)})")
    return wanted


def draw_schedule(faults: list[str], lengths: dict[str, tuple[float, float]],
                  duration: float, seed: int) -> list[Window]:
    """The windows of ``faults`` (each lasting ``lengths[id]`` = (shortest, longest)
    seconds) over a run of ``duration`` seconds, in time order."""
    rng = random.Random(f"{seed}:schedule")
    room = duration - LEAD - TAIL
    picked: list[tuple[str, float]] = []
    used = 0.0

    first = list(faults)
    rng.shuffle(first)
    drawn = {f: rng.uniform(*lengths[f]) for f in first}
    while first and sum(lengths[f][0] for f in first) + GAP * (len(first) - 1) > room:
        first.pop()  # too short a run for all of them even at their shortest
    if first:  # each once, shortened toward its shortest as far as the room needs
        least = sum(lengths[f][0] for f in first) + GAP * (len(first) - 1)
        extra = sum(drawn[f] - lengths[f][0] for f in first)
        k = min(1.0, (room - least) / extra) if extra > 0 else 0.0
        for fault in first:
            lo = lengths[fault][0]
            length = lo + int((drawn[fault] - lo) * k * 10) / 10  # rounded down
            used += length + (GAP if picked else 0.0)
            picked.append((fault, round(length, 1)))
    while picked:  # then more, at random, while they fit
        fault = rng.choice(faults)
        length = round(rng.uniform(*lengths[fault]), 1)
        if used + length + GAP > room:
            break
        used += length + GAP
        picked.append((fault, length))
    weights = [rng.random() for _ in range(len(picked) + 1)]  # before, between, after
    spare, total = room - used, sum(weights) or 1.0
    windows, at = [], LEAD
    for (fault, length), weight in zip(picked, weights, strict=False):
        at += spare * weight / total
        windows.append(Window(fault, round(at, 1), round(at + length, 1)))
        at += length + GAP
    return windows


def left_out(faults: list[str], windows: list[Window]) -> list[str]:
    """The requested faults that got no window (the duration was too short for them)."""
    scheduled = {w.fault for w in windows}
    return [f for f in faults if f not in scheduled]
