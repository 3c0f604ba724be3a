"""The mbox mailer: every notification becomes one readable message appended to a
local mbox file, which any mail reader (or ``mailbox.mbox``) opens.

Appending is done by hand rather than through ``mailbox.mbox.add``, which first scans the
whole file to build its table of contents and so grows slower with every message. The
message itself is built and rendered by the ``email`` package with mbox's ``From ``
quoting, under an exclusive ``lockf`` lock (the one ``mailbox`` takes) so instances
sharing the file never interleave, and a thread lock for threads of one process.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import threading
import time
from datetime import datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from mercato.services.notifications.domain import Notification

SENDER = "Mercato <no-reply@mercato.local>"
MAX_LINE = 998  # RFC 5322: longer lines cannot be sent as 8bit


def build_message(n: Notification) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = n.recipient
    msg["Subject"] = n.subject
    msg["Date"] = format_datetime(datetime.fromisoformat(n.created_at))
    msg["Message-ID"] = f"<{n.id}@mercato.local>"
    msg["X-Mercato-User"] = n.user_id
    msg["X-Mercato-Kind"] = n.kind
    if n.order_id:
        msg["X-Mercato-Order"] = n.order_id
    readable = all(len(line) <= MAX_LINE for line in n.body.splitlines())
    msg.set_content(n.body, cte="8bit" if readable else "quoted-printable")
    return msg


def render_mbox_entry(msg: EmailMessage, received: float) -> bytes:
    """One mbox entry: the ``From `` separator line, the message, a blank line."""
    out = io.BytesIO()
    out.write(f"From MAILER-DAEMON {time.asctime(time.gmtime(received))}\n".encode())
    BytesGenerator(out, mangle_from_=True, policy=msg.policy.clone(linesep="\n")).flatten(msg)
    data = out.getvalue()
    if not data.endswith(b"\n"):
        data += b"\n"
    return data + b"\n"


class MboxMailer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    async def send(self, notification: Notification) -> None:
        entry = render_mbox_entry(build_message(notification), time.time())
        await asyncio.to_thread(self._append, entry)

    def _append(self, entry: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("ab") as fh:
            fcntl.lockf(fh, fcntl.LOCK_EX)
            try:
                fh.write(entry)
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.lockf(fh, fcntl.LOCK_UN)
