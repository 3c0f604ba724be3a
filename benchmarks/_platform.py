"""The Mercato platform for the benchmarks: `mercato up` in a temp data dir, started,
waited for ("Mercato is ready") and stopped with SIGINT, plus the small HTTP helpers the
scripts use against it (log in, find a service instance) and the pieces of command line
they share (--ready-timeout and --keep-data, and `run_main`'s SIGTERM and Ctrl-C handling)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from _load import die_with_parent

HOST = "127.0.0.1"
READY_LINE = "Mercato is ready"
ADMIN = {"email": "admin@mercato.local", "password": "mercato-admin"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the platform


class Platform:
    """`mercato up` as a subprocess: started, waited for, stopped with SIGINT."""

    def __init__(self, data_dir: str, gateway_port: int) -> None:
        self.data_dir = data_dir
        self.gateway_port = gateway_port
        # Its stdout goes to a file, not a pipe: if this script dies, the supervisor must
        # not die of a broken pipe halfway through its orderly stop.
        self.output_path = Path(data_dir) / "mercato-up.out"
        self.proc: subprocess.Popen | None = None

    @classmethod
    def in_temp_dir(cls, prefix: str) -> Platform:
        """A platform whose data dir is a new temp dir (removed by `close`), on a free port."""
        return cls(tempfile.mkdtemp(prefix=prefix), free_port())

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.gateway_port}"

    def output(self) -> str:
        try:
            return self.output_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float) -> float:
        env = {
            # a benchmark's few customers buy the same products thousands of times: the
            # per-customer units limit (OWASP API6) would refuse them after 20
            "MERCATO_MAX_UNITS_PER_CUSTOMER_PER_PRODUCT_PER_DAY": "0",
            **os.environ,  # may set any of these too (--baseline-src sets PYTHONPATH...)
            "MERCATO_DATA_DIR": str(self.data_dir),
            "MERCATO_GATEWAY_PORT": str(self.gateway_port),
            "PYTHONUNBUFFERED": "1",
        }
        started = time.monotonic()
        # Own session: a Ctrl-C in the terminal reaches only this script, whose finally
        # block then stops the platform once, in order. If this script dies outright,
        # Linux sends the supervisor SIGINT (its graceful stop).
        with self.output_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mercato", "up", "--no-seed"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGINT),
            )
        deadline = started + timeout
        while READY_LINE not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(self.output().splitlines()[-30:])
                why = (f"exited with {self.proc.returncode}" if self.proc.poll() is not None
                       else f"not ready within {timeout:.0f}s")
                raise RuntimeError(f"`mercato up` {why}; its output:\n{tail}\n(run with "
                                   "--keep-data to keep the data dir and its logs/)")
            time.sleep(0.1)
        return time.monotonic() - started

    def stop(self, timeout: float = 60.0) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            log("stopping the platform (SIGINT to `mercato up`)")
            proc.send_signal(signal.SIGINT)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                    break
                except KeyboardInterrupt:
                    log("still stopping the platform; waiting for it (up to "
                        f"{timeout:.0f}s in all)")
                except subprocess.TimeoutExpired:
                    log(f"`mercato up` did not stop within {timeout:.0f}s; killing it")
                    proc.kill()  # its children get SIGTERM from Linux (PR_SET_PDEATHSIG)
                    proc.wait()
                    break
        self._reap_leftovers()

    def close(self, keep_data: bool = False, say=log) -> None:
        """`stop`, then delete the data dir, or with --keep-data say where it stays (its
        logs/ are what one reads after a failed run)."""
        self.stop()
        if keep_data:
            say(f"data dir kept: {self.data_dir}")
        else:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _reap_leftovers(self) -> None:
        """End, by pid, any process still running with this run's data dir."""
        left = self.leftover_pids()
        deadline = time.monotonic() + 10
        while left and time.monotonic() < deadline:  # children may still be exiting
            time.sleep(0.2)
            left = self.leftover_pids()
        if not left:
            return
        log(f"WARNING: processes of {self.data_dir} still running after stop: {left}; "
            "sending SIGTERM, then SIGKILL")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            time.sleep(2)
            left = self.leftover_pids()
            if not left:
                return

    def leftover_pids(self) -> list[int]:
        """Pids whose environment carries MERCATO_DATA_DIR=<this run's temp dir>."""
        marks = {f"MERCATO_DATA_DIR={d}\0".encode()
                 for d in (self.data_dir, os.path.realpath(self.data_dir))}
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes() + b"\0"
            except OSError:
                continue
            if any(m in environ for m in marks):
                pids.append(int(entry))
        return pids


# --------------------------------------------------------------------------- HTTP helpers


def call(method: str, url: str, body: dict | None = None, token: str | None = None) -> dict:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{method} {url} -> {exc.code}: {exc.read()[:500]!r}") from None


def admin_setup(gw: str, product: dict) -> tuple[str, dict, list[dict]]:
    """What the gateway benchmarks do first, as the development admin (`mercato up` makes it
    even with --no-seed): its bearer token, `product` created (the read they load) and the
    instances listed by /api/v1/ops/services (addresses and pids, to call and to watch)."""
    token = call("POST", f"{gw}/api/v1/identity/token", ADMIN)["access_token"]
    created = call("POST", f"{gw}/api/v1/catalog/products", product, token)
    return token, created, call("GET", f"{gw}/api/v1/ops/services", token=token)["items"]


def instance_of(items: list[dict], service: str) -> dict:
    ready = [i for i in items if i["service"] == service and i.get("health") == "ready"]
    found = ready or [i for i in items if i["service"] == service]
    if not found:
        raise RuntimeError(f"no {service} instance in /api/v1/ops/services: {items}")
    return found[0]


# --------------------------------------------------------------------------- command line

READY_HELP = "seconds to wait for 'Mercato is ready' (default %(default)g)"
KEEP_DATA_HELP = "keep the temp data dir (databases, logs/) instead of deleting it"


def add_platform_options(parser: argparse.ArgumentParser, *, ready_help: str | None = READY_HELP,
                         keep_data: bool = True, keep_data_help: str = KEEP_DATA_HELP) -> None:
    """--ready-timeout (for `Platform.start`) and, unless `keep_data` is false, --keep-data
    (for `Platform.close`). The help texts are the scripts' own: None shows none."""
    parser.add_argument("--ready-timeout", type=float, default=120.0, help=ready_help)
    if keep_data:
        parser.add_argument("--keep-data", action="store_true", help=keep_data_help)


def run_main(run_benchmark, args, stopped: str = "the platform was stopped", say=log):
    """`run_benchmark(args)`, with SIGTERM turned into an exception (SystemExit 143) so its
    finally blocks stop what it started, and Ctrl-C, once they have, into one line and exit
    130 rather than a traceback."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run_benchmark(args)
    except KeyboardInterrupt:
        say(f"interrupted; {stopped}")
        sys.exit(130)
