"""How orders reaches the services it depends on. The saga's commands to its participants
and the catalog's lookup go over the platform's internal transport
(``MERCATO_INTERNAL_TRANSPORT``, docs/internal-transport.md): gRPC through the runtime's
``RpcClient`` when it speaks it, else HTTP through its ``ServiceClient``; the cart is asked
over HTTP either way. The card token orders hands payments is sealed with the secret the
two share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mercato.chassis import Runtime, Settings
from mercato.chassis.identity import shared_secret
from mercato.chassis.sealing import CARD_TOKEN, Sealer
from mercato.services.orders.adapters.clients import GrpcCatalog, HttpCart, HttpCatalog
from mercato.services.orders.adapters.grpc_commands import GrpcCommands
from mercato.services.orders.adapters.http_commands import HttpCommands
from mercato.services.orders.adapters.participants import SagaParticipants
from mercato.services.orders.ports import CartPort, CatalogPort

if TYPE_CHECKING:  # grpc is loaded only where it is used (Runtime.grpc_on)
    from mercato.chassis.rpc import RpcClient


def participants(runtime: Runtime) -> SagaParticipants:
    """The saga's participants over the runtime's transport. A step's call may take as
    long as the payment provider's timeout, plus the hop."""
    step_timeout = runtime.settings.provider_timeout + 1.0
    if runtime.grpc_on:
        return SagaParticipants(GrpcCommands(_rpc(runtime), step_timeout))
    return SagaParticipants(HttpCommands(runtime.client, step_timeout))


def catalog(runtime: Runtime) -> CatalogPort:
    """The catalog's lookup over the runtime's transport."""
    return GrpcCatalog(_rpc(runtime)) if runtime.grpc_on else HttpCatalog(runtime.client)


def cart(runtime: Runtime) -> CartPort:
    """The customers' carts, over HTTP."""
    return HttpCart(runtime.client)


def card_sealer(settings: Settings) -> Sealer:
    """Seals the card token of a choreographed checkout's OrderPlaced for payments, with
    the ``card-seal`` secret the two share (chassis/identity/keys.py)."""
    return Sealer(shared_secret(settings, "card-seal"), CARD_TOKEN)


def _rpc(runtime: Runtime) -> RpcClient:
    if runtime.rpc is None:  # Runtime.open opens one whenever grpc_on
        raise RuntimeError("the gRPC transport is chosen but the runtime has no RpcClient")
    return runtime.rpc
