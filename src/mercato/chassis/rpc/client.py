"""Calls to another service's gRPC endpoint by name, on the same ``Resilience`` as the
HTTP ``ServiceClient`` (one breaker, bulkhead, retry budget and balancer per service,
whatever the transport): only the sending of one attempt differs. Each attempt carries
this workload's service token, the request id, the canary mark and the client span's
``traceparent`` as metadata, and its remaining time as the gRPC deadline.

A refusal comes back as an ``RpcReply`` with the HTTP status, kind and facts the
servicer's trailers carry; a transport failure is the exception ``Resilience`` judges:
``NotConnected`` (nothing sent: the next instance at once), ``Dropped``, ``TimeoutError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
import grpc

from mercato.chassis.calls.registry import Instance
from mercato.chassis.calls.resilience import Dropped, NotConnected, Resilience
from mercato.chassis.calls.routing import CANARY_HEADER, canary_var
from mercato.chassis.calls.telemetry import Attempt
from mercato.chassis.context import request_id_var
from mercato.chassis.errors import http_status
from mercato.chassis.identity.tokens import ServiceIdentity
from mercato.chassis.rpc.trailers import read_trailers
from mercato.chassis.tls.context import TlsFiles


@dataclass(frozen=True)
class RpcReply:
    """``message`` when the call succeeded (status 200), else the refusal."""

    status: int
    message: Any = None
    kind: str = ""
    detail: str = ""
    facts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200


class RpcClient:
    """One per process, beside the ``ServiceClient`` whose ``resilience`` it shares."""

    def __init__(self, resilience: Resilience, identity: ServiceIdentity, *,
                 tls: TlsFiles | None = None) -> None:
        self.resilience = resilience
        self._identity = identity
        self._credentials = None if tls is None else grpc.ssl_channel_credentials(
            root_certificates=tls.ca.read_bytes(), private_key=tls.key.read_bytes(),
            certificate_chain=tls.cert.read_bytes())
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._methods: dict[tuple[str, str], grpc.aio.UnaryUnaryMultiCallable] = {}

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
        self._methods.clear()

    async def call(self, service: str, method: str, request: Any, reply_type: Any, *,
                   timeout: float | None = None, safe: bool = True) -> RpcReply:
        """``method`` (``/package.Service/Method``) on some ready instance of ``service``;
        raises ``Unavailable`` when none answered. ``safe``: the request may be repeated
        (the participants' commands are: their ids make them idempotent)."""
        metadata = [("authorization", f"Bearer {self._identity.token(service)}"),
                    ("x-request-id", request_id_var.get())]
        if canary_var.get():
            metadata.append((CANARY_HEADER.lower(), canary_var.get()))
        attempts = 0

        async def send(instance: Instance, limit: aiohttp.ClientTimeout) -> RpcReply:
            nonlocal attempts
            if not instance.grpc:
                raise NotConnected(f"{instance.instance_id} has no gRPC endpoint")
            attempt = Attempt(service, "GRPC", instance, attempts)
            attempts += 1
            sent = metadata if not attempt.traceparent else [
                *metadata, ("traceparent", attempt.traceparent)]
            try:
                message = await self._method(instance.grpc, method, reply_type)(
                    request, metadata=sent, timeout=limit.total)
            except grpc.aio.AioRpcError as exc:
                reply = _refusal(exc)
                attempt.end(reply.status if reply else None, None if reply else exc)
                if reply is None:
                    raise _transport_failure(exc) from exc
                return reply
            except BaseException as exc:
                attempt.end(None, exc)
                raise
            attempt.end(200)
            return RpcReply(200, message)

        return await self.resilience.call(service, send, safe=safe,
                                          status_of=lambda r: r.status, timeout=timeout)

    def _method(self, address: str, method: str, reply_type: Any
                ) -> grpc.aio.UnaryUnaryMultiCallable:
        found = self._methods.get((address, method))
        if found is None:
            channel = self._channels.get(address)
            if channel is None:
                channel = self._channels[address] = (
                    grpc.aio.secure_channel(address, self._credentials)
                    if self._credentials else grpc.aio.insecure_channel(address))
            found = self._methods[(address, method)] = channel.unary_unary(
                method, request_serializer=_serialize, response_deserializer=reply_type.FromString)
        return found


def _serialize(message: Any) -> bytes:
    return message.SerializeToString()


def _refusal(exc: grpc.aio.AioRpcError) -> RpcReply | None:
    """A servicer's refusal (its trailers name the status), or gRPC's own answer that is
    not a transport failure; None for a failure ``Resilience`` should judge."""
    status, kind, facts = read_trailers(exc.trailing_metadata())
    if status is not None:
        return RpcReply(status, None, kind, exc.details() or "", facts)
    code = exc.code()
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.CANCELLED):
        return None
    return RpcReply(http_status(code.name), None, code.name.lower().replace("_", "-"),
                    exc.details() or "")


def _transport_failure(exc: grpc.aio.AioRpcError) -> BaseException:
    if exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
        return TimeoutError(exc.details())
    text = f"{exc.details()} {exc.debug_error_string()}".lower()
    if "connect" in text or "connection refused" in text:
        return NotConnected(exc.details())
    return Dropped(f"{exc.code().name}: {exc.details()}")
