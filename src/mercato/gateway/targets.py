"""``GET /api/v1/ops/prometheus-targets``: every live instance (the gateway included) in
Prometheus's HTTP service discovery format, so a stock Prometheus scrapes the whole
platform from one ``http_sd_configs`` entry (deploy/prometheus/prometheus.yml).

Answered from the gateway's registry view, as ``/api/v1/ops/services`` is: an instance is
listed while its heartbeats are fresh, whatever its health (a starting or draining instance
still has metrics worth reading), and dropped when it stops heartbeating. Admin only, like
every operations route: the list is the platform's internal addresses (docs/metrics.md
says how Prometheus authenticates).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from mercato.chassis.calls.registry import Instance

TARGETS_PATH = "/api/v1/ops/prometheus-targets"


def prometheus_targets(instances: Iterable[Instance]) -> list[dict]:
    """One target group per instance: ``host:port`` and the labels every series scraped
    from it gets (``service``, ``instance`` — the instance id, not the address — and
    ``version``), in a stable order."""
    groups = []
    for i in sorted(instances, key=lambda i: (i.service, i.instance_id)):
        address = urlsplit(i.address).netloc or i.address
        groups.append({"targets": [address],
                       "labels": {"service": i.service, "instance": i.instance_id,
                                  "version": i.version}})
    return groups


def answer_targets(instances: Iterable[Instance]) -> tuple[int, bytes]:
    return 200, json.dumps(prometheus_targets(instances)).encode()
