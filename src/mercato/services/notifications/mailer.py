"""The mbox mailer: every notification becomes one readable message appended to a
local mbox file, which any mail reader (or ``mailbox.mbox``) opens.

Appending is done by hand rather than through ``mailbox.mbox.add``, which first scans the
whole file to build its table of contents and so grows slower with every message. A batch
is appended with one write and one fsync under an exclusive ``lockf`` lock (the one
``mailbox`` takes) so instances sharing the file never interleave, and a thread lock for
threads of one process; a failed write is cut off again, so a failed batch leaves no
half-message behind to be mailed a second time by the retry.

The entry is formatted by hand, not by ``email.message.EmailMessage``: its policy parses
every header it is given back into a structured value before folding it again, which was
most of the mailer's CPU. The headers here are our own, mostly ASCII and short, so only
a value that is not plain short ASCII goes through ``email.header.Header`` (RFC 2047
encoding and folding). The result is the same message the ``email`` package wrote: the
same headers in the same order, the body 8bit (quoted-printable when a line is longer
than RFC 5322 allows), and body lines starting with ``From `` quoted as ``>From ``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import quopri
import re
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

from mercato.services.notifications.domain import Notification

SENDER = "Mercato <no-reply@mercato.local>"
MAX_LINE = 998  # RFC 5322: longer lines (in octets) cannot be sent as 8bit
FOLD_AT = 78  # RFC 5322's "should": longer header lines are folded
FROM_LINE = re.compile(rb"^From ", re.MULTILINE)
TEXT = 'Content-Type: text/plain; charset="utf-8"\n'
WORDS = re.compile(r"[ \t]*[^ \t]+|[ \t]+$")  # each word with the blanks before it


def header(name: str, value: str) -> str:
    """One header line; RFC 2047 encoded if the value is not ASCII (or holds what a
    reader would take for an encoded word), folded if long."""
    if "\n" in value or "\r" in value:
        # what EmailPolicy refused too: a line break would let a value add headers
        raise ValueError(f"the {name} header must be one line")
    if not value.isascii() or "=?" in value:
        return f"{name}: {Header(value, 'utf-8', header_name=name).encode()}\n"
    line = f"{name}: {value}"
    return (line if len(line) <= FOLD_AT else fold(line)) + "\n"


def fold(line: str) -> str:
    """Break a long ASCII header line before blanks, so that unfolding (removing the
    line breaks) gives it back exactly; ``Header`` also breaks after ``;`` and ``,``
    and so adds a blank that was not there. Never right after the name: a word too
    long to fit stays whole on its line."""
    words = WORDS.findall(line)
    lines, current = [], words[0] + words[1]  # "Name:" and the first word of the value
    for word in words[2:]:
        if len(current) + len(word) > FOLD_AT and word[0] in " \t":
            lines.append(current)
            current = word
        else:
            current += word
    lines.append(current)
    return "\n".join(lines)


def body_part(body: str) -> tuple[str, bytes]:
    """The transfer encoding and the encoded body: 8bit with ``\\n`` line ends, or
    quoted-printable when a line is too long for 8bit."""
    lines = body.encode().splitlines()
    data = b"\n".join(lines) + b"\n"
    if any(len(line) > MAX_LINE for line in lines):
        return "quoted-printable", quopri.encodestring(data)
    return "8bit", data


def render_entry(n: Notification, received: float) -> bytes:
    """One mbox entry: the ``From `` separator line, the message, a blank line."""
    cte, body = body_part(n.body)
    head = "".join((
        f"From MAILER-DAEMON {time.asctime(time.gmtime(received))}\n",
        f"From: {SENDER}\n",
        header("To", n.recipient),
        header("Subject", n.subject),
        f"Date: {format_datetime(datetime.fromisoformat(n.created_at))}\n",
        header("Message-ID", f"<{n.id}@mercato.local>"),
        header("X-Mercato-User", n.user_id),
        header("X-Mercato-Kind", n.kind),
        header("X-Mercato-Order", n.order_id) if n.order_id else "",
        TEXT,
        f"Content-Transfer-Encoding: {cte}\n",
        "MIME-Version: 1.0\n\n",
    ))
    return head.encode() + FROM_LINE.sub(b">From ", body) + b"\n"


class MboxMailer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    async def send(self, notification: Notification) -> None:
        await self.send_many([notification])

    async def send_many(self, notifications: Sequence[Notification]) -> None:
        """Append every message, in order, with one thread hop and one fsync; raises
        (having appended none of them) when that failed."""
        if not notifications:
            return
        received = time.time()
        data = b"".join(render_entry(n, received) for n in notifications)
        await asyncio.to_thread(self._append, data)

    def _append(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A raw descriptor, not a buffered file: a failed write must leave nothing in a
        # buffer that closing the file would still write after the cut.
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX)
                start = os.lseek(fd, 0, os.SEEK_END)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    os.fsync(fd)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, start)
                    raise
            finally:
                os.close(fd)  # releases the lockf lock
