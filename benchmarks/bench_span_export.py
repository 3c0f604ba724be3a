"""Benchmark: the CPU a span costs a process, part by part, in one run.

  span, not sampled     start + end of a span whose trace is not sampled (ids only)
  span, sampled         start + end of a recorded span, handed to the BatchSpanProcessor
  encode, SDK           the SDK exporter's protobuf encoding (encode_spans + serialise)
  encode, Mercato       chassis/telemetry/otlp_proto.py's encoder (the same bytes' meaning)
  store: decode         the trace store reading one export (tracestore/otlp.py)
  store: write          the trace store's transaction for it (tracestore/store.py, a
                        temp file; each batch new traces of 8 spans)

The spans are shaped like the platform's (a server span's attributes, a unique path,
an order id); batches of --batch spans. CPU time (time.process_time), best of --repeat.

Run:  python benchmarks/bench_span_export.py          (a few seconds)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

from mercato.chassis.telemetry.otlp_proto import encode_request
from mercato.tracestore.otlp import PROTOBUF, decode
from mercato.tracestore.store import TraceStore

RESOURCE = Resource.create({"service.name": "orders", "service.instance.id": "orders-1-ab12cd",
                            "service.version": "1"})


class Discard(SpanExporter):
    def export(self, spans) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def make_spans(tracer, n: int) -> None:
    for i in range(n):
        span = tracer.start_span("POST /api/v1/orders/{order_id}/cancel",
                                 kind=trace.SpanKind.SERVER,
                                 attributes={"http.request.method": "POST",
                                             "url.path": f"/api/v1/orders/o-{i}/cancel"})
        span.set_attribute("http.route", "/api/v1/orders/{order_id}/cancel")
        span.set_attribute("http.response.status_code", 202)
        span.set_attribute("mercato.order_id", f"o-{i}")
        span.end()


def store_write(make, provider, n: int, repeat: int) -> float:
    """CPU per span of the store's ingest of fresh exports (new traces of 8 spans)."""
    kept = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(kept))
    exports = []
    for _ in range(repeat):
        kept.clear()
        for _ in range(n // 8):
            with provider.get_tracer("bench").start_as_current_span("root"):
                make(provider.get_tracer("bench"), 7)
        exports.append(decode(encode_request(kept.get_finished_spans()), PROTOBUF))
    with tempfile.TemporaryDirectory() as folder:
        store = TraceStore(Path(folder) / "traces.db", max_traces=100_000, max_bytes=1 << 30)
        store.open()
        try:
            return best(lambda: store.ingest(*exports.pop()), repeat) / n
        finally:
            store.close()


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description="CPU per span: creating one (sampled or not) "
                                "and encoding it for OTLP (the SDK's encoder and Mercato's).")
    p.add_argument("--batch", type=int, default=512, help="spans per batch (default 512)")
    p.add_argument("--repeat", type=int, default=7, help="runs, best taken (default 7)")
    args = p.parse_args()
    n = args.batch
    rows = []
    for label, sampler in (("span, not sampled", ALWAYS_OFF), ("span, sampled", ALWAYS_ON)):
        provider = TracerProvider(resource=RESOURCE, sampler=sampler)
        provider.add_span_processor(BatchSpanProcessor(Discard(), max_queue_size=n * 20))
        tracer = provider.get_tracer("bench")
        rows.append((label, best(lambda t=tracer: make_spans(t, n), args.repeat) / n))
        provider.shutdown()
    kept = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(kept))
    make_spans(provider.get_tracer("bench"), n)
    spans = kept.get_finished_spans()
    sdk = best(lambda: encode_spans(spans).SerializePartialToString(), args.repeat) / n
    ours = best(lambda: encode_request(spans), args.repeat) / n
    rows += [("encode, SDK", sdk), ("encode, Mercato", ours)]
    body = encode_request(spans)
    rows.append(("store: decode", best(lambda: decode(body, PROTOBUF), args.repeat) / n))
    rows.append(("store: write", store_write(make_spans, provider, n, args.repeat)))
    print(f"CPU per span, batches of {n}, best of {args.repeat}")
    print("| part | µs per span | x SDK encoder |")
    print("|---|---|---|")
    for label, secs in rows:
        print(f"| {label} | {secs * 1e6:.1f} | {secs / sdk:.2f} |")


if __name__ == "__main__":
    main()
