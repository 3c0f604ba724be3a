"""With the standard OTEL_EXPORTER_OTLP_ENDPOINT set, every process exports its spans over
OTLP/HTTP there: a tiny receiver in the test gets one checkout's spans from every service."""

from __future__ import annotations

import gzip
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.system.platform import make_platform, wait_for

SERVICES = {"gateway", "identity", "catalog", "inventory", "cart", "orders", "payments",
            "shipping", "notifications"}


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: POST /v1/traces, protobuf. Keeps, per trace id, the
    (service.name, span name) of every span it was sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.traces: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.paths: set[str] = set()
        self.lock = threading.Lock()

    def add(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            for resource_spans in request.resource_spans:
                attributes = {a.key: a.value.string_value
                              for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.traces[span.trace_id.hex()].append(
                            (attributes["service.name"], span.name))


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.paths.add(self.path)
        self.server.add(body)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_every_service_exports_the_spans_of_a_checkout_to_the_configured_endpoint(
        tmp_path, receiver):
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    p = make_platform(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
                      OTEL_BSP_SCHEDULE_DELAY="200")
    p.start()
    try:
        token, _user = p.new_customer()
        product = p.new_product(stock=5)
        with p.client(token) as c:
            r = c.put(f"/api/v1/cart/items/{product['id']}", json={"quantity": 1})
            assert r.status_code == 200, r.text
            r = c.post("/api/v1/orders", json=p.order_body(product["id"]),
                       headers={"Idempotency-Key": "otlp-1"})
        assert r.status_code == 202, r.text
        trace_id = r.headers["traceparent"].split("-")[1]
        order = p.wait_terminal(token, r.json()["id"])
        assert order["status"] == "confirmed"

        def services_in_the_trace():
            with receiver.lock:
                found = {service for service, _name in receiver.traces.get(trace_id, [])}
            return found if found >= SERVICES - {"identity"} else None

        found = wait_for(services_in_the_trace, 30, "spans of every service in the trace")
        with receiver.lock:
            everyone = {s for spans in receiver.traces.values() for s, _n in spans}
    finally:
        assert p.stop() == 0
    assert found >= SERVICES - {"identity"}
    assert everyone >= SERVICES  # identity: the sign-up and sign-in traces
    assert receiver.paths == {"/v1/traces"}
