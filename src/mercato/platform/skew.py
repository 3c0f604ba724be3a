"""A service's clock set off by some seconds (F11, docs/chaos.md §3): its instances run
under Debian's libfaketime, preloaded into the process with an offset.

libfaketime replaces ``clock_gettime``/``time``/``gettimeofday`` in the process (and its
children: the variables are inherited), so Python's ``time.time()`` and ``datetime.now()``
report the skewed wall clock. ``FAKETIME_DONT_FAKE_MONOTONIC=1`` leaves the monotonic
clock alone: asyncio's timers, timeouts and backoffs keep real durations, as on a host
whose wall clock alone is wrong. An offset of 0 removes every trace of it.
"""

from __future__ import annotations

from pathlib import Path

LIBRARIES = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
             "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
             "/usr/lib/faketime/libfaketime.so.1")
MAX_SKEW = 24 * 3600  # seconds either way
VARIABLES = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC")


def libfaketime() -> str:
    """The path of libfaketime, or ValueError saying how to install it."""
    for path in LIBRARIES:
        if Path(path).is_file():
            return path
    raise ValueError("libfaketime is not installed: `make faketime` (Debian's faketime "
                     "package) skews a service's clock")


def skewed_env(env: dict[str, str], seconds: int) -> dict[str, str]:
    """``env`` for a process whose wall clock is ``seconds`` off (0: the true clock)."""
    if not -MAX_SKEW <= seconds <= MAX_SKEW:
        raise ValueError(f"a skew is at most {MAX_SKEW} seconds either way")
    clean = {k: v for k, v in env.items() if k not in VARIABLES}
    if preload := _without_faketime(env.get("LD_PRELOAD", "")):
        clean["LD_PRELOAD"] = preload
    if seconds == 0:
        return clean
    library = libfaketime()
    return clean | {"LD_PRELOAD": " ".join(filter(None, (library, clean.get("LD_PRELOAD")))),
                    "FAKETIME": f"{seconds:+d}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def skew_of(env: dict[str, str]) -> int:
    """The skew ``skewed_env`` set in ``env`` (seconds; 0 if none)."""
    value = env.get("FAKETIME", "") if "faketime" in env.get("LD_PRELOAD", "") else ""
    try:
        return int(value.removesuffix("s")) if value else 0
    except ValueError:
        return 0


def _without_faketime(preload: str) -> str:
    return " ".join(p for p in preload.split() if "libfaketime" not in p)
