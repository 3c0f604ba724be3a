"""Calls to other services by name: the service registry on NATS KV and the HTTP client
that picks a ready instance from it.

Public API: ``ServiceClient``, ``Reply``, ``Unavailable``, ``RegistryView``,
``Registration``, ``Instance``.
"""

from mercato.chassis.calls.client import Reply, ServiceClient, Unavailable
from mercato.chassis.calls.registry import Instance, Registration, RegistryView

__all__ = ["Instance", "Registration", "RegistryView", "Reply", "ServiceClient",
           "Unavailable"]
