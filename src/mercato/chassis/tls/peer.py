"""Which workload's certificate a request came with (mTLS on): uvicorn's httptools
protocol, noting once per connection the workload named by the client certificate
(``spiffe://mercato.local/<name>``, pki.py) and putting it in each request's scope as
``mercato.peer``. ``caller`` (chassis/web/deps.py) then refuses a service token whose
``iss`` is another workload than the certificate's: a stolen token alone is no longer
enough, its holder also needs that workload's certificate and key.

Why a subclass: uvicorn (0.55) hands the app no TLS information (no ``tls`` extension in
the scope), and reading it once when the connection is made costs nothing per request.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mercato.chassis.tls.pki import TRUST_DOMAIN

PEER_KEY = "mercato.peer"
_PREFIX = f"spiffe://{TRUST_DOMAIN}/"


def peer_workload(peercert: dict | None) -> str | None:
    """The workload a verified client certificate (``SSLSocket.getpeercert()``) names."""
    for kind, value in (peercert or {}).get("subjectAltName", ()):
        if kind == "URI" and value.startswith(_PREFIX):
            return value.removeprefix(_PREFIX)
    return None


class PeerCertProtocol(HttpToolsProtocol):
    """httptools, plus ``scope["mercato.peer"]``: the client certificate's workload."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._peer = peer_workload(transport.get_extra_info("peercert"))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._peer is not None:
            self.scope[PEER_KEY] = self._peer  # type: ignore[literal-required]
