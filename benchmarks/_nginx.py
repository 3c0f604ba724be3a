"""nginx for bench_nginx.py: installed from the Debian package if missing, run as a child
process (`daemon off`) with a generated config in a temp dir, pinned with taskset.

No system service and no port 80: the config listens on a free port of 127.0.0.1 and
keeps its pid file, error log and temp paths in the temp dir. Each upstream block keeps
`keepalive 64` idle connections, with `proxy_http_version 1.1` and an empty Connection
header, so nginx reuses connections to the service as the gateway's aiohttp pool does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _load import die_with_parent, end_process
from _platform import HOST, free_port, log

INSTALL = ["apt-get", "install", "-y", "--no-install-recommends", "nginx-light"]
POLICY_RC = Path("/usr/sbin/policy-rc.d")  # exit 101 there: packages start no service


def nginx_binary() -> str | None:
    for path in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if path and os.access(path, os.X_OK):
            return path
    return None


def ensure_nginx() -> str:
    """The nginx binary; installs the Debian package when root, otherwise prints the exact
    command and exits 2. Refuses to install when the package would start the system service
    (no /usr/sbin/policy-rc.d that forbids it): that service would take port 80."""
    found = nginx_binary()
    if found:
        return found
    command = " ".join(INSTALL)
    blocked = POLICY_RC.exists() and "exit 101" in POLICY_RC.read_text(errors="replace")
    if os.geteuid() != 0 or not blocked:
        why = ("not root" if os.geteuid() != 0 else
               f"{POLICY_RC} does not forbid service starts, so the package's postinst would "
               "start nginx as a system service on port 80")
        print(f"nginx is not installed ({why}). Install it with:\n  sudo apt-get update && "
              f"sudo {command}\n(then `sudo systemctl disable --now nginx` if the package "
              "started its service) and run this script again.", file=sys.stderr)
        sys.exit(2)
    log(f"nginx not found; running: {command}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    done = subprocess.run(INSTALL, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    if done.returncode != 0:  # the package lists may be missing: update them once
        subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run(INSTALL, env=env, stdout=subprocess.DEVNULL, check=True)
    found = nginx_binary()
    if not found:
        raise RuntimeError(f"`{command}` ran but no nginx binary was found")
    return found


def nginx_version(binary: str) -> str:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True)
    return (out.stderr or out.stdout).strip().split("/", 1)[-1]


def render_config(tmp: Path, port: int, upstreams: dict[str, str]) -> str:
    """`upstreams` maps a path prefix's service name to its http://host:port address."""
    blocks, locations = [], []
    for service, address in upstreams.items():
        hostport = address.split("://", 1)[-1].rstrip("/")
        blocks.append(f"  upstream {service} {{\n    server {hostport};\n    keepalive 64;\n  }}")
        locations.append(
            f"    location /api/v1/{service}/ {{\n      proxy_pass http://{service};\n"
            "      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n"
            "      proxy_set_header X-Forwarded-For $remote_addr;\n    }")
    temps = "\n".join(f"  {kind}_temp_path {tmp / kind};"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
worker_processes 1;
pid {tmp / 'nginx.pid'};
error_log {tmp / 'error.log'} warn;
events {{
  worker_connections 1024;
}}
http {{
  access_log off;
{temps}
{chr(10).join(blocks)}
  server {{
    listen {HOST}:{port};
{chr(10).join(locations)}
    location / {{
      return 404;
    }}
  }}
}}
"""


class Nginx:
    """One nginx master and one worker, pinned to `cpu` (taskset) when given."""

    def __init__(self, binary: str, upstreams: dict[str, str], cpu: int | None) -> None:
        self.binary, self.upstreams, self.cpu = binary, upstreams, cpu
        self.tmp = Path(tempfile.mkdtemp(prefix="bench_nginx_"))
        self.tmp.chmod(0o755)  # the worker runs as nobody and must reach its temp paths
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        conf = self.tmp / "nginx.conf"
        conf.write_text(render_config(self.tmp, self.port, self.upstreams))
        cmd = [self.binary, "-p", str(self.tmp), "-e", str(self.tmp / "error.log"),
               "-c", str(conf)]
        if self.cpu is not None and shutil.which("taskset"):
            cmd = ["taskset", "-c", str(self.cpu), *cmd]
        with (self.tmp / "stderr.log").open("wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         preexec_fn=die_with_parent())
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: "
                                   f"{self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    pass
                if self.worker_pid():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not listen within {timeout:g}s: "
                                   f"{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self) -> str:
        text = ""
        for name in ("stderr.log", "error.log"):
            path = self.tmp / name
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-15:])

    def worker_pid(self) -> int | None:
        """The worker: the master's child (the master itself when run under taskset, which
        execs nginx in its own pid)."""
        if self.proc is None:
            return None
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return None
        pids = [int(p) for p in kids.split()]
        return pids[0] if pids else None

    def stop(self) -> None:
        """SIGTERM (nginx's fast shutdown) to the master; then the temp dir goes."""
        if self.proc is not None:
            end_process(self.proc)
        shutil.rmtree(self.tmp, ignore_errors=True)


def pin(pid: int, cpu: int | None) -> str:
    """Pin every thread of a running process to `cpu` with taskset; says what it did."""
    if cpu is None:
        return f"pid {pid} not pinned"
    if not shutil.which("taskset"):
        return f"pid {pid} not pinned (no taskset)"
    subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(pid)], check=True,
                   stdout=subprocess.DEVNULL)
    return f"pid {pid} -> cpu {cpu}"
