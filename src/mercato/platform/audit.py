"""The operator's commands in the audit trail: what changes state without the gateway.

``mercato keys rotate``, ``mercato dlq replay`` and ``mercato deploy``/``promote``/
``rollback`` speak to a service, to NATS or to the supervisor directly, so the gateway's
trail (gateway/audit.py) never sees them. Each writes one entry itself once it has run, to
the same ``AUDIT`` stream on the subject ``audit.cli`` — the only audit subject the CLI's
NATS users may publish on (platform/nats_permissions.py), so an entry cannot pass for the
gateway's. The entry has the gateway's shape; ``method`` is ``CLI``, ``path`` the command,
``status`` its exit code, ``actor`` the operating-system account and host that ran it.
An entry the broker does not take never changes the command's outcome: it is said on the
terminal (and logged) instead.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Callable
from datetime import datetime

from mercato.chassis.clock import iso, utc_now
from mercato.chassis.logging import get_logger
from mercato.gateway.audit import AUDIT_STREAM, DETAIL_CHARS, OPERATOR_SUBJECT

log = get_logger(__name__)
METHOD = "CLI"


def operator() -> str:
    """Who runs the command, as the machine knows them: ``account@host``."""
    try:
        account = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        account = "unknown"
    return f"{account}@{socket.gethostname()}"


def cli_entry(command: str, exit_code: int, detail: str = "",
              clock: Callable[[], datetime] = utc_now) -> dict:
    """One audit entry of a command run by the operator."""
    cut = detail if len(detail) <= DETAIL_CHARS else detail[:DETAIL_CHARS] + "…"
    return {"at": iso(clock()), "actor": f"operator:{operator()}", "email": None,
            "method": METHOD, "path": command, "status": exit_code, "request_id": "",
            "detail": cut, "address": "local"}


async def record(js, command: str, exit_code: int, detail: str = "", say=print) -> bool:
    """Write the entry; ``False`` (and a line said) if the broker did not take it."""
    entry = cli_entry(command, exit_code, detail)
    try:
        await js.publish(OPERATOR_SUBJECT, json.dumps(entry).encode(), stream=AUDIT_STREAM,
                         timeout=5)
    except Exception as exc:  # the command has run: say what the trail is missing
        log.warning("audit_not_recorded", error=str(exc) or type(exc).__name__, **entry)
        say(f"warning: not recorded in the audit trail ({type(exc).__name__}): {command}")
        return False
    return True
