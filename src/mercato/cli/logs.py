"""``mercato logs --trace <trace id>``: the log lines of every process (the JSON lines
under ``<data dir>/logs/*.log``) written for one trace, merged in time order.

Lines carry ``trace_id`` (and ``span_id``) while a span is active; lines that are not
JSON (a crash's traceback, NATS's own log) are skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True)
class LogLine:
    at: datetime
    process: str
    text: str


def _when(value: object) -> datetime:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return _EPOCH
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def trace_lines(logs_dir: Path, trace_id: str) -> list[LogLine]:
    """Every JSON line of every ``*.log`` in ``logs_dir`` whose ``trace_id`` is
    ``trace_id``, oldest first (by ``timestamp``; lines of one file keep their order)."""
    trace_id = trace_id.strip().lower()
    found: list[LogLine] = []
    for path in sorted(Path(logs_dir).glob("*.log")):
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if trace_id not in line:  # cheap test before parsing
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("trace_id") == trace_id:
                    found.append(LogLine(_when(record.get("timestamp")),
                                         str(record.get("process") or path.stem),
                                         line.rstrip("\n")))
    found.sort(key=lambda x: x.at)  # stable: equal times keep file order
    return found


def print_trace_lines(logs_dir: Path, trace_id: str, echo) -> int:
    """Print ``process  line`` for each line of the trace; 1 when there is none."""
    if not Path(logs_dir).is_dir():
        echo(f"error: no logs at {logs_dir} (set MERCATO_DATA_DIR to the platform's data dir)",
             err=True)
        return 1
    lines = trace_lines(logs_dir, trace_id)
    if not lines:
        echo(f"error: no log line under {logs_dir} carries trace_id {trace_id}", err=True)
        return 1
    width = max(len(x.process) for x in lines)
    for x in lines:
        echo(f"{x.process:<{width}}  {x.text}")
    return 0
