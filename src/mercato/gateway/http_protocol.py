"""The gateway's HTTP/1.1 connections: uvicorn's httptools protocol with a deadline and a
size cap on reading a request's headers (OWASP API4, slow-loris).

Why a subclass: uvicorn (0.55) has no option for either. ``timeout_keep_alive`` is armed
only once a response is complete and is cancelled by any byte received, so a connection
that sends nothing after connecting, or its headers a line a second, is held for ever;
``h11_max_incomplete_event_size`` bounds only the h11 parser, not httptools (llhttp keeps
no limit, so megabytes of headers are buffered and handed on); ``limit_concurrency`` and
``limit_max_requests`` count requests, not bytes or time. The subclass hooks the
protocol's own callbacks and changes nothing else:

- the header deadline is armed when the connection is made, when the first byte of a
  request arrives on a kept-alive one, and when bytes that start no request arrive on an
  idle one (bare CRLFs, which uvicorn's keep-alive timer would otherwise forget); it is
  cancelled when the headers are complete. When it fires, a client that had begun a
  request gets 408 and the close; one that sent nothing is closed without an answer (as
  uvicorn closes an idle kept-alive connection);
- the header bytes are counted until the headers are complete: past the cap, 431 and the
  close. Counted as the whole chunks received while the headers are incomplete (a bound
  on memory) and, once complete, as the request line and fields parsed.

A refusal is answered, the sending half shut, and what the client still sends is read
and dropped for a moment (``LINGER``) before the close: closing with unread bytes would
reset the connection and could destroy the answer before the client reads it.

The body's deadline is the gateway's (``exchange.py`` ``read_body``): the app reads it.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mercato.chassis.context import new_request_id
from mercato.chassis.logging import get_logger
from mercato.chassis.web.errors import PROBLEM_CONTENT_TYPE, problem_body

log = get_logger(__name__)
LINGER = 2.0  # seconds a refused connection's remaining bytes are read and dropped
REASONS = {408: ("Request Timeout", "the request's headers did not arrive within {} s"),
           431: ("Request Header Fields Too Large", "the request's headers exceed {} bytes")}


class _Refused(Exception):
    """Stops the parser once a request has been refused in one of its callbacks."""


def guarded_protocol(header_timeout: float, max_header_bytes: int) -> type[HttpToolsProtocol]:
    """The protocol class to pass as ``uvicorn.Config(http=...)`` with these limits."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,),
                {"header_timeout": header_timeout, "max_header_bytes": max_header_bytes})


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout = 10.0
    max_header_bytes = 32 * 1024

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._reading_headers = False  # a request has begun and its headers are not in
        self._header_bytes = 0
        self._refused = False
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:  # read and dropped until the linger ends
            return
        super().data_received(data)
        if self._refused or self.transport.is_closing():
            return
        if self._reading_headers:
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(431, self.max_header_bytes)
        elif self.cycle is None or self.cycle.response_complete:
            self._arm()  # idle, yet bytes came: they must become a request in time

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers, self._header_bytes = True, 0
        self._arm()

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._disarm()
        size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
        if size > self.max_header_bytes:
            self._refuse(431, self.max_header_bytes)
            raise _Refused  # the app never sees the request
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # a refusal stops the parser with an error: answered already
            super().send_400_response(msg)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout, self._late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _late(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a response is on its way: close after it
        elif self._reading_headers:
            self._refuse(408, self.header_timeout)
        else:
            self.transport.close()

    def _refuse(self, status: int, limit: float) -> None:
        """Answer ``status`` as a problem, then drop what still comes for ``LINGER``."""
        self._refused, self._reading_headers = True, False
        self._disarm()
        title, detail = REASONS[status]
        rid = new_request_id()
        log.warning("http_request_refused", status=status, client=self.client, request_id=rid,
                    header_bytes=self._header_bytes)
        body = problem_body(status, title, detail.format(limit), rid)
        head = [STATUS_LINE[status], *(k + b": " + v + b"\r\n"
                                      for k, v in self.server_state.default_headers),
                b"content-type: " + PROBLEM_CONTENT_TYPE.encode() + b"\r\n",
                b"content-length: %d\r\n" % len(body), b"x-request-id: " + rid.encode()
                + b"\r\n", b"connection: close\r\n\r\n"]
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER, self.transport.close)
