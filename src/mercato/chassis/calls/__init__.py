"""Calls to other services by name: the service registry on NATS KV, balancing over its
ready instances, the resilience policies (timeouts, retries with a budget, breakers,
bulkheads) and the HTTP client that applies them.

Public API: ``ServiceClient``, ``Reply``, ``Unavailable``, ``CallPolicy``, ``Resilience``,
``RegistryView``, ``Registration``, ``Instance``.
"""

from mercato.chassis.calls.client import Reply, ServiceClient, Unavailable
from mercato.chassis.calls.registry import Instance, Registration, RegistryView
from mercato.chassis.calls.resilience import CallPolicy, Resilience

__all__ = ["CallPolicy", "Instance", "Registration", "RegistryView", "Reply", "Resilience",
           "ServiceClient", "Unavailable"]
