"""Traces with the OpenTelemetry SDK: set up once per process, used by the chassis'
entrypoints (request middleware, service client, database, outbox, relay, consumers).

Spans go over OTLP/HTTP (protobuf) to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the embedded trace
store that ``mercato up`` runs, or any collector) through the SDK's ``BatchSpanProcessor``:
the request path only appends a finished span to a queue, a thread encodes (``otlp_proto``:
the SDK's exporter with a faster encoder) and sends them.
With no endpoint, the provider samples nothing: trace and span ids are still made and
propagated (answers carry ``traceparent``, log lines carry ``trace_id``), nothing is
recorded. ``OTEL_SDK_DISABLED=true`` leaves the API's no-op provider in place.

The ``traceparent`` header is read and written here by hand (``parse_traceparent``,
``format_traceparent``) rather than through the propagator's carrier interface: the
gateway and the middleware do it on every request, and the header is one fixed format.
"""

from __future__ import annotations

import re
from typing import Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato.chassis.telemetry.keep import SLOW_CHECKOUT, install_keeper, keep_failure, keep_slow

__all__ = [
    "ERROR", "SLOW_CHECKOUT", "Context", "Span", "SpanKind", "Status", "StatusCode",
    "TracingSettings", "annotate", "attach", "attach_context", "current_traceparent", "detach",
    "format_traceparent", "keep_failure", "keep_slow", "link_to", "parse_traceparent", "recording",
    "setup_tracing", "start_span", "tracer",
]
ERROR = StatusCode.ERROR
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class TracingSettings(BaseSettings):
    """The standard OpenTelemetry variables this process honours (``OTEL_*``)."""

    model_config = SettingsConfigDict(env_prefix="OTEL_", extra="ignore")

    sdk_disabled: bool = False
    exporter_otlp_endpoint: str | None = None
    exporter_otlp_traces_endpoint: str | None = None
    exporter_otlp_protocol: Literal["http/protobuf"] = "http/protobuf"
    exporter_otlp_traces_protocol: Literal["http/protobuf"] | None = None

    @property
    def exports(self) -> bool:
        return bool(self.exporter_otlp_traces_endpoint or self.exporter_otlp_endpoint)


def setup_tracing(service: str, instance_id: str, version: str,
                  settings: TracingSettings | None = None, *, exporter=None):
    """Install this process's tracer provider (once, at start) and return it.

    Resource attributes name the process: ``service.name``, ``service.instance.id``,
    ``service.version``. The sampler is the SDK's from ``OTEL_TRACES_SAMPLER``/``_ARG``
    (default ``parentbased_always_on``) when spans are exported, else ``always_off``;
    failures outside the sample are kept all the same (``keep.py``).
    ``exporter`` replaces the OTLP exporter (tests). Returns None when the SDK is disabled.
    """
    settings = settings or TracingSettings()
    if settings.sdk_disabled:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    resource = Resource.create({"service.name": service, "service.instance.id": instance_id,
                                "service.version": version})
    if exporter is None and settings.exports:
        from mercato.chassis.telemetry.otlp_proto import FastOTLPSpanExporter

        exporter = FastOTLPSpanExporter()  # reads the endpoint, headers, timeout from OTEL_*
    provider = TracerProvider(resource=resource,
                              sampler=None if exporter is not None else ALWAYS_OFF)
    if exporter is not None:
        processor = BatchSpanProcessor(exporter)
        provider.add_span_processor(processor)
        install_keeper(resource, processor)
    trace.set_tracer_provider(provider)
    return provider


def start_span(tracer_: trace.Tracer, name: str, context: Context | None, kind: SpanKind,
               attributes: dict, links=None) -> Span:
    """``tracer_.start_span`` with ``attributes`` set after the span is made, and only if it
    records. Why: given at the start, the SDK copies them through a cleaning pass whose
    ``isinstance(..., Mapping)`` check on the sampler's ``MappingProxyType`` missed the ABC
    cache on every span here — about 10 µs of a recorded span's ~38 µs (measured with the
    request middleware alone: benchmarks/RESULTS.md, bench_span_export)."""
    span = tracer_.start_span(name, context, kind, links=links)
    if span.is_recording():
        span.set_attributes(attributes)
    return span


def tracer(name: str) -> trace.Tracer:
    """The tracer of a chassis or service module (a proxy until the provider is set)."""
    return trace.get_tracer(name)


def parse_traceparent(value: str | bytes | None) -> Context | None:
    """The context a W3C ``traceparent`` header names, as a remote parent; None when the
    header is absent or invalid (the span then starts a new trace)."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
        return None
    parent = SpanContext(int(match.group(1), 16), int(match.group(2), 16), is_remote=True,
                         trace_flags=TraceFlags(int(match.group(3), 16)))
    return trace.set_span_in_context(NonRecordingSpan(parent))


def format_traceparent(span: Span) -> str | None:
    """The ``traceparent`` header naming ``span`` as the parent, or None if it has no
    valid context (no provider, or outside any span)."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"


def link_to(context: Context) -> Link:
    """A link to the span ``context`` holds (a consumer links to the message's context)."""
    return Link(trace.get_current_span(context).get_span_context())


def current_traceparent() -> str | None:
    """The ``traceparent`` of the span active now (see ``format_traceparent``)."""
    return format_traceparent(trace.get_current_span())


def recording() -> bool:
    """Whether the active span records: an internal span (a transaction, an outbox write)
    is made only then, so background work outside any trace, and traces not sampled,
    cost nothing."""
    return trace.get_current_span().is_recording()


def annotate(attributes: dict[str, str | int | float | bool],
             error: str | None = None) -> None:
    """Add ``attributes`` to the active span and, with ``error``, mark it failed: what an
    entrypoint (a subscription's reaction) knows of the outcome."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes)
        if error is not None:
            span.set_status(StatusCode.ERROR, error)


def attach(span: Span) -> object:
    """Make ``span`` the active one; returns the token for ``detach``."""
    return otel_context.attach(trace.set_span_in_context(span))


def attach_context(context: Context | None) -> object:
    """Make ``context`` (from ``parse_traceparent``; None: no trace) the active one, e.g.
    around the creation of a task that should go on in a saved trace; for ``detach``."""
    return otel_context.attach(context if context is not None else Context())


def detach(token: object) -> None:
    """Undo the ``attach`` that returned ``token``."""
    otel_context.detach(token)
