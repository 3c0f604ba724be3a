"""The card provider simulator: an HTTP card processor with its own ledger on disk.

``mercato up`` runs it as the supervised child ``provider`` (``mercato serve provider``)
and points payments at it (``MERCATO_PAYMENT_PROVIDER_URL``); with ``--fault-proxies`` the
link goes through the proxy ``provider-payments``, so F8 can make it answer late.

Public API: ``Ledger`` (ledger.py), ``create_app`` and ``serve_provider`` (server.py).
"""

from mercato.simulators.provider.ledger import Answer, Ledger
from mercato.simulators.provider.server import create_app, serve_provider

__all__ = ["Answer", "Ledger", "create_app", "serve_provider"]
