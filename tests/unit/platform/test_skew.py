"""F11's clock skew (platform/skew.py, the control socket's ``skew``, the supervisor's
``restart``): the environment that runs a process under libfaketime and takes it off
again, a real Python process whose wall clock is off while its monotonic clock is not,
and instances restarted with it at once, not as a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mercato.platform.control import Control, instance_spec
from mercato.platform.skew import skew_of, skewed_env
from mercato.platform.supervisor import ProcessSpec, Supervisor

CLOCKS = "import json, time; print(json.dumps([time.time(), time.monotonic()]))"


def test_the_environment_of_a_skew_and_of_its_removal():
    env = skewed_env({"LD_PRELOAD": "/lib/other.so", "X": "1"}, -300)
    assert env["FAKETIME"] == "-300s" and env["FAKETIME_DONT_FAKE_MONOTONIC"] == "1"
    assert env["LD_PRELOAD"].split()[0].endswith("libfaketime.so.1")
    assert "/lib/other.so" in env["LD_PRELOAD"] and skew_of(env) == -300
    healed = skewed_env(env, 0)
    assert healed == {"LD_PRELOAD": "/lib/other.so", "X": "1"} and skew_of(healed) == 0
    with pytest.raises(ValueError, match="at most"):
        skewed_env({}, 10**6)


def test_python_under_the_skew_sees_its_wall_clock_off_and_its_monotonic_clock_true():
    def clocks(env: dict[str, str]) -> tuple[float, float]:
        done = subprocess.run([sys.executable, "-c", CLOCKS], env=env, capture_output=True,
                              text=True, check=True)
        return tuple(json.loads(done.stdout))

    wall_before, mono_before = time.time(), time.monotonic()
    wall, mono = clocks(skewed_env({}, 300))
    assert 290 < wall - wall_before < 330
    assert 0 <= mono - mono_before < 30  # the same clock as ours, not moved


class Notes(list):
    def __call__(self, text: str) -> None:
        self.append(text)


async def test_skew_restarts_each_instance_at_once_with_its_clock_off_and_back(tmp_path):
    notes = Notes()
    sup = Supervisor(notes)

    def spec(name: str) -> ProcessSpec:
        # signal.pause, not time.sleep: under libfaketime Python's time.sleep fails with
        # EINVAL (its clock_nanosleep on an absolute monotonic time is shifted too)
        argv = [sys.executable, "-c", "import signal; "
                "signal.signal(signal.SIGTERM, lambda *_: exit(0)); signal.pause()"]
        return ProcessSpec(name, argv, {"PATH": "/usr/bin:/bin"}, tmp_path / f"{name}.log")

    for name in ("payments-1", "payments-2", "orders-1"):
        await sup.start(spec(name))
    control = Control(sup, lambda n, v: instance_spec(n, {}, Path(tmp_path), 0, v), "1")
    try:
        before = {n: c.pid for n, c in sup.children.items()}
        skewed = await control.handle({"op": "skew", "service": "payments", "seconds": 300})
        assert [(r["name"], r["skew"]) for r in skewed] == [("payments-1", 300),
                                                            ("payments-2", 300)]
        assert all(r["pid"] != before[r["name"]] for r in skewed)
        assert sup.children["payments-2"].spec.env["FAKETIME"] == "+300s"
        assert sup.children["orders-1"].pid == before["orders-1"]  # others untouched
        back = await control.handle({"op": "skew", "service": "payments", "seconds": 0})
        assert [r["skew"] for r in back] == [0, 0]
        assert "FAKETIME" not in sup.children["payments-1"].spec.env
        assert all(sup.children[r["name"]].running for r in back)
        assert not any("restarting" in n for n in notes), list(notes)  # not reported as crashes
        assert sup.children["payments-1"].restarts == 0
        with pytest.raises(ValueError, match="no running service"):
            await control.handle({"op": "skew", "service": "nope", "seconds": 5})
    finally:
        await sup.stop_all([])
