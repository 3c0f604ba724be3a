"""One mode's chaos run: its own platform, the load, the fault schedule, quiescence and
the invariants — the raw figures that ``report.shape_mode`` turns into the report.

The load (``mercato.load``'s open loop) and the schedule run side by side; times are
seconds from the moment the load starts its sessions. After the last window every proxy
is healed once more, the load drains (its sessions follow their orders until they end or
time out), and the invariants are checked until they all hold or ``QUIESCENCE`` seconds
have passed. The platform is stopped in every case, Ctrl-C included.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from mercato.chaos.faults import FAULTS, Check, Fault, Target
from mercato.chaos.figures import convergence, duplicate_effects, duplicates_dropped, spread
from mercato.chaos.platform import ChaosPlatform
from mercato.chaos.schedule import Window
from mercato.cli.verify import check_until, gather, see_services
from mercato.load.runner import LoadConfig, Run
from mercato.platform.running import cli_identity, cli_ssl, connect, login, running_state

QUIESCENCE = 120.0  # seconds the invariants may take to hold after the load
STATUS_EVERY = 5.0  # seconds between progress lines


@dataclass
class ChaosOptions:
    duration: float
    rate: float
    seed: int
    step_deadline: float = 3.0
    keep: bool = False  # keep the data dir even when every invariant held
    nats_nodes: int = 1  # NATS as one server, or a cluster of this many (F2 kills one)


async def run_mode(mode: str, schedule: list[Window], opts: ChaosOptions,
                   say: Callable[[str], None]) -> dict:
    """Start a platform in ``mode``, exercise it, stop it; the raw figures."""
    workdir = Path(tempfile.mkdtemp(prefix=f"mercato-chaos-{mode}-"))
    platform = ChaosPlatform(workdir, mode, opts.step_deadline, opts.nats_nodes)
    ok = False
    try:
        say(f"[{mode}] starting the platform (data dir {platform.data_dir})")
        await platform.start()
        await platform.seed()
        say(f"[{mode}] ready at {platform.url}; catalog seeded")
        result = await exercise(platform, mode, schedule, opts, say)
        ok = all(c["ok"] for c in result["checks"])
        return result
    finally:
        say(f"[{mode}] stopping the platform")
        await asyncio.to_thread(platform.stop)
        if ok and not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"[{mode}] its data dir and logs are kept in {workdir}")


async def exercise(platform: ChaosPlatform, mode: str, schedule: list[Window],
                   opts: ChaosOptions, say: Callable[[str], None]) -> dict:
    config = LoadConfig(url=platform.url, duration=opts.duration, rate=opts.rate,
                        seed=opts.seed, follow_timeout=30.0)
    run = Run(config)
    load = asyncio.create_task(run.execute())
    # Run sets no event once its customers are registered and sessions start: poll.
    while run.pool is None and not load.done():  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    if load.done():
        load.result()  # the load could not start: its exception
    t0 = run.started

    def now() -> float:
        return time.monotonic() - t0

    target = Target(platform.data_dir, random.Random(f"{opts.seed}:{mode}:faults"),
                    opts.step_deadline, platform.url, lambda: run.stats.snapshot(now()))
    injected: list[dict] = []
    last: dict[str, Fault] = {}  # per fault id, the object of its last window
    status = asyncio.create_task(_status(run, injected, now, mode, say))
    try:
        say(f"[{mode}] load running at {opts.rate:g}/s for {opts.duration:g}s; "
            f"{len(schedule)} fault windows")
        await _inject_all(schedule, target, injected, last, now, mode, say)
        await target.control("heal", proxy="*")
        last_heal = max([now()] + [f["end"] for f in injected if f.get("end") is not None])
        await load
    finally:
        status.cancel()
        load.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.gather(status, load)
    snapshot = run.stats.snapshot(now())
    say(f"[{mode}] load done; waiting for quiescence (invariants, up to {QUIESCENCE:g}s)")
    checks, waited = await _check(platform)
    checks += [c for fault in last.values() for c in await _own_checks(fault, target)]
    held = all(c.ok for c in checks)
    say(f"[{mode}] invariants {'hold' if held else 'VIOLATED'} after waiting {waited:.1f}s")
    settled = now() - last_heal
    timeline = [(sent - t0, None if ended is None else ended - t0)
                for sent, ended in run.stats.timeline]
    for entry in injected:
        if entry.get("end") is not None:
            entry["convergence_s"] = convergence(timeline, entry["end"])
    shaped = [asdict(c) for c in checks]
    return {"mode": mode, "load": snapshot, "faults": injected, "checks": shaped,
            "waited_s": round(waited, 1),
            "convergence": spread([f["convergence_s"] for f in injected
                                   if "convergence_s" in f]),
            "convergence_s": round(settled, 1) if held else None,
            "duplicates": {"dropped": duplicates_dropped(platform.data_dir / "logs"),
                           "effects": duplicate_effects(shaped)},
            "data_dir": str(platform.data_dir)}


async def _inject_all(schedule: list[Window], target: Target, injected: list[dict],
                      last: dict[str, Fault], now: Callable[[], float], mode: str,
                      say) -> None:
    """Each window in turn. A heal can take longer than its window (a restart on a busy
    machine), so the schedule may run late: a fault's first window then starts late and
    keeps its length; a later window of a fault already injected that would be over by
    now is left out (reported), so the faults stay within the load's time."""
    for window in schedule:
        await asyncio.sleep(max(0.0, window.start - now()))
        late = now() - window.start
        if window.fault in last and now() >= window.end:
            injected.append({"id": window.fault, "fault": FAULTS[window.fault].what,
                             "start": round(now(), 1), "target": None, "end": None,
                             "skipped": f"the schedule ran {late:.1f}s late"})
            say(f"[{mode}] {window.fault} at {window.start:g}s left out: the schedule "
                f"ran {late:.1f}s late")
            continue
        fault = last[window.fault] = FAULTS[window.fault]()
        entry = {"id": fault.id, "fault": fault.what, "start": round(now(), 1)}
        injected.append(entry)
        try:
            entry["target"] = await fault.inject(target)
        except Exception as exc:  # reported; the run goes on
            entry |= {"target": None, "error": f"{type(exc).__name__}: {exc}", "end": None}
            say(f"[{mode}] {fault.id} could not be injected: {entry['error']}")
            continue
        say(f"[{mode}] t={entry['start']:.1f}s {fault.id} injected: {entry['target']}")
        await asyncio.sleep(max(0.0, window.end + max(0.0, late) - now()))
        entry["end"] = round(now(), 1)
        try:
            entry["healed"] = await fault.heal(target)
        except Exception as exc:
            entry["healed"] = f"heal failed: {type(exc).__name__}: {exc}"
        say(f"[{mode}] t={entry['end']:.1f}s {fault.id} healed: {entry['healed']}")


async def _own_checks(fault: Fault, target: Target) -> list[Check]:
    """A fault's own promises (``Fault.checks``); one that cannot be checked fails."""
    try:
        return await fault.checks(target)
    except Exception as exc:
        return [Check(f"{fault.id}'s own check", False, f"{type(exc).__name__}: {exc}",
                      count=1, inv=f"INV-{fault.id}")]


async def _status(run: Run, injected: list[dict], now, mode: str, say) -> None:
    while True:
        await asyncio.sleep(STATUS_EVERY)
        s = run.stats
        active = [f["id"] for f in injected if f.get("end") is None and f.get("target")]
        say(f"[{mode}] t={now():.0f}s sessions {s.sessions['started']} started, "
            f"{s.sessions['completed']} done, {s.sessions['failed']} failed, "
            f"{s.in_flight} in flight; orders {s.placed} placed, {s.confirmed} confirmed, "
            f"{sum(s.cancelled.values())} cancelled; faults in force: "
            f"{', '.join(active) or 'none'}")


async def _check(platform: ChaosPlatform):
    """``mercato verify --wait-idle QUIESCENCE`` on the platform, from this process."""
    from mercato.chassis.calls.client import ServiceClient
    from mercato.chassis.calls.registry import RegistryView

    settings, data_dir = platform.settings(), platform.data_dir
    state = running_state(data_dir)
    nc = await connect(state["nats_url"], login(data_dir))
    view = RegistryView(nc, settings.registry_ttl)
    client = ServiceClient(view, cli_identity(settings), timeout=10, ssl=cli_ssl(data_dir))
    try:
        await view.start()
        await see_services(view)
        await client.start()
        return await check_until(lambda: gather(client, nc.jetstream()), QUIESCENCE)
    finally:
        await client.close()
        await view.stop()
        with contextlib.suppress(Exception):
            await nc.close()
