"""Payments' gRPC entrypoint (contracts/proto/payments.proto): the orchestrator's
authorize, capture, void and refund, the same handlers and field rules as the
``/internal/payments`` routes; domain errors become statuses through the service's table
(the chassis' gate)."""

from __future__ import annotations

from mercato.chassis.rpc import Served, allow, number, text
from mercato.contracts.proto import payments_pb2 as pb
from mercato.contracts.proto import payments_pb2_grpc as pb_grpc
from mercato.services.payments.api import ID_PATTERN
from mercato.services.payments.domain import Payment
from mercato.services.payments.handlers import Authorize, Payments


class PaymentsServicer(pb_grpc.PaymentsServicer):
    def __init__(self, payments: Payments) -> None:
        self.payments = payments

    @allow("orders")
    async def Authorize(self, request: pb.AuthorizeRequest, context) -> pb.Payment:
        cmd = Authorize(payment_id=_ident(request.payment_id, "payment_id"),
                        order_id=_ident(request.order_id, "order_id"),
                        customer_id=_ident(request.customer_id, "customer_id"),
                        amount=number(request.amount, "amount", low=1, high=10**12),
                        currency=text(request.currency, "currency", pattern=r"^[A-Z]{3}$"),
                        card_token=text(request.card_token, "card_token"))
        return _message(await self.payments.authorize(cmd))

    @allow("orders")
    async def Capture(self, request: pb.PaymentRef, context) -> pb.Payment:
        return _message(await self.payments.capture(_id(request)))

    @allow("orders")
    async def Void(self, request: pb.PaymentRef, context) -> pb.Payment:
        pid = _id(request)
        payment = await self.payments.void(pid)
        if payment is None:  # never seen: now a tombstone
            return pb.Payment(id=pid, status="voided")
        return _message(payment)

    @allow("orders")
    async def Refund(self, request: pb.PaymentRef, context) -> pb.Payment:
        return _message(await self.payments.refund(_id(request)))


def _ident(value: str, name: str) -> str:
    return text(value, name, pattern=ID_PATTERN)


def _id(request: pb.PaymentRef) -> str:
    return _ident(request.payment_id, "payment_id")


def _message(payment: Payment) -> pb.Payment:
    return pb.Payment(**{k: v for k, v in payment.as_dict().items() if v is not None})


def served(payments: Payments) -> list[Served]:
    return [Served(PaymentsServicer(payments), pb_grpc.add_PaymentsServicer_to_server,
                   pb.DESCRIPTOR.services_by_name["Payments"].full_name)]
