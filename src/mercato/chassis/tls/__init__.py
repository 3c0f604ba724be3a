"""Optional mTLS (``MERCATO_MTLS=1``): the local CA and certificates (pki.py) and the TLS
contexts built from them (context.py). docs/zero-trust.md part 4."""

from mercato.chassis.tls.context import (
    TlsFiles,
    client_context,
    client_ssl,
    nats_tls,
    scheme,
    server_context,
    tls_files,
    uvicorn_ssl,
)
from mercato.chassis.tls.pki import Issued, ca_path, ensure_pki, pki_dir

__all__ = ["Issued", "TlsFiles", "ca_path", "client_context", "client_ssl", "ensure_pki",
           "nats_tls", "pki_dir", "scheme", "server_context", "tls_files", "uvicorn_ssl"]
