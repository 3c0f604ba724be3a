"""Internal commands over gRPC (docs/internal-transport.md §3): a service's ``RpcServer``
beside its HTTP app, servicer methods declaring their callers with ``allow``, and the
``RpcClient`` on the same resilience as the HTTP service client.

Public API: ``RpcServer``, ``Served``, ``allow``, ``RpcClient``, ``RpcReply``, and the
servicers' checks of a request's fields: ``text``, ``number``, ``some`` (fields.py).

Loaded on first use (``lazy_loader``), as every face of the chassis: importing one
module of this package does not import the others.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "client": ["RpcClient", "RpcReply"],
    "fields": ["number", "some", "text"],
    "server": ["RpcServer", "Served", "allow"],
})
