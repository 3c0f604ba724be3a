"""The TLS contexts of optional mTLS (``MERCATO_MTLS=1``): which files a workload uses and
the ``ssl.SSLContext``s built from them.

Off by default: every helper here answers "plain" (``None``, ``{}``, ``http``) unless
``settings.mtls``. On, a served port requires a client certificate signed by the local
CA (``CERT_REQUIRED``), and a client presents its own certificate and checks the
server's against the same CA, host name included: peers dial ``127.0.0.1`` and every
certificate names IP 127.0.0.1 (pki.py), so the check costs nothing and refuses a
certificate for anything else. It does not tell one workload from another (every
certificate names the loopback address): who calls is the service token's business,
the channel is this one's (docs/zero-trust.md part 4).

The files: ``MERCATO_TLS_CERT_FILE``, ``MERCATO_TLS_KEY_FILE`` and ``MERCATO_TLS_CA_FILE``
(``mercato up`` passes each child its own), else the data dir's ``pki/<workload>``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from mercato.chassis.settings import Settings
from mercato.chassis.tls.pki import ca_path, cert_key_path, cert_path


@dataclass(frozen=True)
class TlsFiles:
    """A workload's certificate, its key and the CA that signs the platform's certificates."""

    cert: Path
    key: Path
    ca: Path


def tls_files(settings: Settings, workload: str, *, on: bool | None = None
              ) -> TlsFiles | None:
    """``workload``'s certificate, key and CA, or None when mTLS is off (``on`` overrides
    ``settings.mtls``, for the CLI that learns it from the running platform)."""
    if not (settings.mtls if on is None else on):
        return None
    d = settings.data_dir
    return TlsFiles(settings.tls_cert_file or cert_path(d, workload),
                    settings.tls_key_file or cert_key_path(d, workload),
                    settings.tls_ca_file or ca_path(d))


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A server that takes only clients with a certificate from the CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(files.cert, files.key)
    ctx.load_verify_locations(cafile=files.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(files: TlsFiles) -> ssl.SSLContext:
    """A client presenting its certificate, trusting only the CA (not the system's),
    checking the server's certificate and its host name."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cafile=files.ca)
    ctx.load_cert_chain(files.cert, files.key)
    return ctx


def client_ssl(settings: Settings, workload: str, *, on: bool | None = None
               ) -> ssl.SSLContext | None:
    """The client context of ``workload`` (aiohttp's ``TCPConnector(ssl=...)``), or None."""
    files = tls_files(settings, workload, on=on)
    return None if files is None else client_context(files)


def nats_tls(settings: Settings, workload: str, *, on: bool | None = None) -> dict:
    """The ``nats.connect`` keyword arguments for TLS: ``{"tls": context}`` or none."""
    ctx = client_ssl(settings, workload, on=on)
    return {} if ctx is None else {"tls": ctx}


def uvicorn_ssl(settings: Settings, workload: str) -> dict:
    """``uvicorn.Config`` keyword arguments serving TLS with required client certificates,
    or none (plain HTTP, the default)."""
    files = tls_files(settings, workload)
    if files is None:
        return {}
    return {"ssl_certfile": str(files.cert), "ssl_keyfile": str(files.key),
            "ssl_ca_certs": str(files.ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}


def scheme(settings: Settings) -> str:
    """The scheme of a service's address in the registry."""
    return "https" if settings.mtls else "http"
