"""Faults on purpose (docs/chaos.md): the TCP fault proxy and its toxics.

Public API: ``FaultProxy`` (proxy.py), ``ProxyThread`` (thread.py, for synchronous code),
``Link``, ``Toxics``, ``BadToxic``, ``both`` (toxics.py).
"""

from mercato.platform.faults.proxy import FaultProxy
from mercato.platform.faults.thread import ProxyThread
from mercato.platform.faults.toxics import BadToxic, Link, Toxics, both

__all__ = ["BadToxic", "FaultProxy", "Link", "ProxyThread", "Toxics", "both"]
