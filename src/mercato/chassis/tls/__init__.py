"""Optional mTLS (``MERCATO_MTLS=1``): the local CA and certificates (pki.py) and the TLS
contexts built from them (context.py). docs/zero-trust.md part 4.

Loaded on first use (``lazy_loader``), as every face of the chassis: importing one
module of this package does not import the others.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "context": ["TlsFiles", "client_context", "client_ssl", "nats_tls", "scheme",
               "server_context", "tls_files", "uvicorn_ssl"],
    "pki": ["Issued", "ca_path", "ensure_pki", "pki_dir"],
})
