"""Internal commands over gRPC (docs/internal-transport.md §3): a service's ``RpcServer``
beside its HTTP app, servicer methods declaring their callers with ``allow``, and the
``RpcClient`` on the same resilience as the HTTP service client.

Public API: ``RpcServer``, ``Served``, ``allow``, ``RpcClient``, ``RpcReply``, and the
servicers' checks of a request's fields: ``text``, ``number``, ``some`` (fields.py).
"""

from mercato.chassis.rpc.client import RpcClient, RpcReply
from mercato.chassis.rpc.fields import number, some, text
from mercato.chassis.rpc.server import RpcServer, Served, allow

__all__ = ["RpcClient", "RpcReply", "RpcServer", "Served", "allow", "number", "some", "text"]
