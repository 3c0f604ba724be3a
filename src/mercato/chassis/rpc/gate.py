"""What every gRPC call to a service passes through, as the HTTP middleware and the
``caller``/``require_service`` dependencies do for a route: the request id, a server span
continuing the caller's ``traceparent``, the caller's service token checked against the
method's allowlist (and, with mTLS, against the certificate's workload), the domain
error translated by the service's table into a status with the problem's trailers, the
duration in ``http_server_request_duration_seconds`` (method ``GRPC``).

A method with no allowlist is refused (deny by default); the health and reflection
services are open, as ``/health/*`` is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import grpc

from mercato.chassis.context import new_request_id, request_id_var, valid_request_id
from mercato.chassis.data.db import DatabaseUnavailable
from mercato.chassis.errors import Answer, ErrorTable, grpc_code
from mercato.chassis.logging import get_logger
from mercato.chassis.rpc.trailers import trailers_of
from mercato.chassis.security import AuthError, Principal, bearer_token
from mercato.chassis.telemetry.http_metrics import server_duration
from mercato.chassis.telemetry.tracing import (
    ERROR,
    SpanKind,
    attach,
    detach,
    parse_traceparent,
    start_span,
    tracer,
)
from mercato.chassis.tls.peer import peer_workload

log = get_logger(__name__)
OPEN = ("/grpc.health.v1.", "/grpc.reflection.")
_tracer = tracer("mercato.grpc")


class Refused(Exception):
    """The caller may not call this method (403 ``caller-not-allowed``)."""


class Gate(grpc.aio.ServerInterceptor):
    """``verify(token) -> Principal`` is the service identity's check; ``allowlist`` the
    services allowed per full method name (``/package.Service/Method``)."""

    def __init__(self, verify, errors: ErrorTable, allowlist: Mapping[str, frozenset[str]],
                 *, mtls: bool = False) -> None:
        self._verify = verify
        self._errors = errors
        self._allowlist = allowlist
        self._mtls = mtls
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}
        self._duration = server_duration()

    async def intercept_service(self, continuation, details):
        method = details.method
        found = self._wrapped.get(method)
        if found is not None:
            return found
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None or method.startswith(OPEN):
            return handler
        found = self._wrapped[method] = grpc.unary_unary_rpc_method_handler(
            self._serve(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
        return found

    def _serve(self, method: str, inner):
        allowed = self._allowlist.get(method, frozenset())

        async def served(request, context: grpc.aio.ServicerContext):
            metadata = dict(context.invocation_metadata() or ())
            rid = metadata.get("x-request-id", "")
            request_id_var.set(rid if valid_request_id(rid) else new_request_id())
            service, _, name = method[1:].partition("/")
            span = start_span(_tracer, method[1:], parse_traceparent(
                metadata.get("traceparent")), SpanKind.SERVER,
                {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name})
            token, started, status = attach(span), time.perf_counter(), 500
            try:
                try:
                    self._admit(method, allowed, metadata, context)
                    reply = await inner(request, context)
                    status = 200
                    return reply
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:
                    answer = self._answer(method, exc, span)
                    status = answer.status
                await context.abort(grpc.StatusCode[grpc_code(answer.status)],
                                    answer.detail, trailing_metadata=trailers_of(answer))
            finally:
                ms = (time.perf_counter() - started) * 1000
                self._duration.labels("GRPC", method, str(status)).observe(ms / 1000)
                log.info("grpc_request", method=method, status=status, ms=round(ms, 1))
                if span.is_recording():
                    span.set_attribute("rpc.grpc.status_code",
                                       grpc.StatusCode[grpc_code(status)].value[0]
                                       if status != 200 else 0)
                    if status >= 500:
                        span.set_status(ERROR, f"answered {status}")
                span.end()
                detach(token)

        return served

    def _admit(self, method: str, allowed: frozenset[str], metadata: dict,
               context: grpc.aio.ServicerContext) -> Principal:
        try:
            principal = self._verify(bearer_token(metadata.get("authorization")))
        except AuthError as exc:
            raise AuthError(f"{exc} (services take calls from other services only)") from None
        if self._mtls:
            peer = _peer(context)
            if peer is not None and peer != principal.subject:
                raise AuthError(f"a service token of {principal.subject} over a connection "
                                f"with {peer}'s certificate")
        if not principal.is_service or principal.subject not in allowed:
            raise Refused(f"{principal.subject} may not call {method} (allowed: "
                          f"{', '.join(sorted(allowed)) or 'no one'})")
        return principal

    def _answer(self, method: str, exc: Exception, span) -> Answer:
        if isinstance(exc, AuthError):
            return Answer(401, "unauthorized", str(exc))
        if isinstance(exc, Refused):
            return Answer(403, "caller-not-allowed", str(exc))
        if isinstance(exc, DatabaseUnavailable):
            log.warning("database_unavailable", cause=exc.cause, error=str(exc))
            return Answer(503, "database-unavailable", f"{exc.public} ({exc.cause}); nothing "
                          "was kept, try again", {"cause": exc.cause}, retry_after=2)
        answer = self._errors.answer(exc)
        if answer is not None:
            return answer
        log.exception("unhandled_error", method=method)
        span.record_exception(exc)
        return Answer(500, "internal-server-error",
                      "an internal error occurred; see the service log")


def _peer(context: grpc.aio.ServicerContext) -> str | None:
    """The workload the client certificate names (its ``spiffe://`` URI SAN)."""
    names = context.auth_context().get("x509_subject_alternative_name", [])
    uris = [("URI", n.decode()) for n in names if n.startswith(b"spiffe://")]
    return peer_workload({"subjectAltName": uris})
