"""Calls to other services by name: the service registry on NATS KV, balancing over its
ready instances, the resilience policies (timeouts, retries with a budget, breakers,
bulkheads) and the HTTP client that applies them, over a ``Transport`` (aiohttp in the
platform; another in tests).

Public API: ``ServiceClient``, ``Reply``, ``Unavailable``, ``CallPolicy``, ``Resilience``,
``RegistryView``, ``Registration``, ``Instance``, ``Transport``, ``ReplyTooLarge``.
"""

from mercato.chassis.calls.client import Reply, ServiceClient, Unavailable
from mercato.chassis.calls.registry import Instance, Registration, RegistryView
from mercato.chassis.calls.resilience import CallPolicy, Resilience
from mercato.chassis.calls.transport import ReplyTooLarge, Transport

__all__ = ["CallPolicy", "Instance", "Registration", "RegistryView", "Reply", "ReplyTooLarge",
           "Resilience", "ServiceClient", "Transport", "Unavailable"]
