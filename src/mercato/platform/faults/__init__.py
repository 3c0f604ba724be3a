"""Faults on purpose (docs/chaos.md): the TCP fault proxy and its toxics.

Public API: ``FaultProxy`` (proxy.py), ``Link``, ``Toxics``, ``BadToxic`` (toxics.py).
"""

from mercato.platform.faults.proxy import FaultProxy
from mercato.platform.faults.toxics import BadToxic, Link, Toxics

__all__ = ["BadToxic", "FaultProxy", "Link", "Toxics"]
