"""Calls to other services by name: the service registry on NATS KV, balancing over its
ready instances, the resilience policies (timeouts, retries with a budget, breakers,
bulkheads) and the HTTP client that applies them, over a ``Transport`` (aiohttp in the
platform; another in tests).

Public API: ``ServiceClient``, ``Reply``, ``Unavailable``, ``CallPolicy``, ``Resilience``,
``RegistryView``, ``Registration``, ``Instance``, ``Transport``, ``ReplyTooLarge``.

Loaded on first use (``lazy_loader``), as every face of the chassis: importing one
module of this package does not import the others.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "client": ["Reply", "ServiceClient", "Unavailable"],
    "registry": ["Instance", "Registration", "RegistryView"],
    "resilience": ["CallPolicy", "Resilience"],
    "transport": ["ReplyTooLarge", "Transport"],
})
