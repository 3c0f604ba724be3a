"""Issue 12's "Done when", at length: under about 30 orders/s for 60 s on the production
stack, the node leading the orders stream SIGKILLed and restarted; every order confirmed,
every acknowledged event in the stream once, every customer told once, `mercato verify`
passing (the scenario: tests/system/test_nats_cluster.py, there for a few seconds)."""

from __future__ import annotations

import pytest

from tests.system.platform import Platform
from tests.system.test_nats_cluster import cluster, node_kill_under_load  # noqa: F401


@pytest.mark.timeout(900)  # the cluster's start, a minute of load, then every order's end
def test_sixty_seconds_of_orders_through_a_killed_nats_node(cluster: Platform):  # noqa: F811
    node_kill_under_load(cluster, 60.0)
