"""The HTTP duration histograms, named by the OpenTelemetry semantic conventions
(``http.server.request.duration``, ``http.client.request.duration``) in Prometheus form.

Created on first use, not at import: the gateway's server histogram has one label more
(``mercato_upstream_service``) than a service's, under the same name, so each kind of
process creates only its own (the gateway's lives in a registry of its own, exposed next to
the default one, so both can exist in one test process).
"""

from __future__ import annotations

from functools import cache

from prometheus_client import REGISTRY, CollectorRegistry, Histogram

# seconds; the semantic conventions' advice, plus 2.5 and 5 s for slow checkouts
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
SERVER_LABELS = ("http_request_method", "http_route", "http_response_status_code")
GATEWAY_REGISTRY = CollectorRegistry(auto_describe=True)


@cache
def server_duration() -> Histogram:
    """A service's requests: by method, route template (never the raw path) and status."""
    return Histogram("http_server_request_duration_seconds", "Duration of HTTP requests "
                     "served", SERVER_LABELS, buckets=BUCKETS, registry=REGISTRY)


@cache
def gateway_duration() -> Histogram:
    """The gateway's requests, also by the upstream service that answered (``-`` for the
    gateway's own answers); its route is the upstream service's prefix, not the path."""
    return Histogram("http_server_request_duration_seconds", "Duration of HTTP requests "
                     "served", (*SERVER_LABELS, "mercato_upstream_service"), buckets=BUCKETS,
                     registry=GATEWAY_REGISTRY)


@cache
def client_duration() -> Histogram:
    """Calls to other services (one per attempt), by target service, method and outcome:
    the status code answered, or ``error_type`` (timeout, refused, ...) when none was."""
    return Histogram("http_client_request_duration_seconds", "Duration of HTTP calls to "
                     "other services, per attempt",
                     ("mercato_upstream_service", "http_request_method",
                      "http_response_status_code", "error_type"),
                     buckets=BUCKETS, registry=REGISTRY)
