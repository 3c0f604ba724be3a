"""The adapter of the saga's participants port (ports.py): it applies the domain's reading
of each answer (domain/answers.py) to commands sent over HTTP (http_commands.py) or gRPC
(grpc_commands.py): the transports only carry the commands.

Every id the saga sends is derived from the order id and the step (contracts/ids.py), so
a retried or duplicated call names the same reservation, payment or shipment and never
acts twice.
"""

from __future__ import annotations

from collections.abc import Callable

from mercato.chassis import ServiceClient
from mercato.services.orders.adapters.http_commands import HttpCommands
from mercato.services.orders.domain import answers
from mercato.services.orders.domain.answers import Answer, Result
from mercato.services.orders.domain.order import Order
from mercato.services.orders.ports import Commands


def _read(answer: Answer | Result, rule: Callable[[Answer], Result]) -> Result:
    return answer if isinstance(answer, Result) else rule(answer)


class SagaParticipants:
    """The saga's participants over ``commands``: each answer read by the domain's rules,
    a compensation that must become another one followed through."""

    def __init__(self, commands: Commands) -> None:
        self.commands = commands

    async def reserve_stock(self, order: Order) -> Result:
        return _read(await self.commands.reserve(order), answers.forward)

    async def authorize_payment(self, order: Order, card_token: str) -> Result:
        return _read(await self.commands.authorize(order, card_token), answers.forward)

    async def schedule_shipment(self, order: Order) -> Result:
        return _read(await self.commands.schedule(order), answers.forward)

    async def capture_payment(self, order: Order) -> Result:
        return _read(await self.commands.capture(order), answers.forward)

    async def confirm_order(self, order: Order) -> Result:
        return _read(await self.commands.commit(order), answers.confirmation)

    async def release_stock(self, order: Order) -> Result:
        a = await self.commands.release(order)
        if isinstance(a, Answer) and answers.release_needs_return(a):
            return await self.return_stock(order)
        return _read(a, answers.undone)

    async def void_payment(self, order: Order) -> Result:
        a = await self.commands.void(order)
        if isinstance(a, Answer) and answers.void_needs_refund(a):
            return await self.refund_payment(order)
        return _read(a, answers.voided)

    async def cancel_shipment(self, order: Order) -> Result:
        return _read(await self.commands.cancel_shipment(order), answers.shipment_cancelled)

    async def refund_payment(self, order: Order) -> Result:
        return _read(await self.commands.refund(order), answers.refunded)

    async def return_stock(self, order: Order) -> Result:
        return _read(await self.commands.return_goods(order), answers.returned)


class HttpParticipants(SagaParticipants):
    """The participants reached over HTTP through the registry."""

    def __init__(self, client: ServiceClient, step_timeout: float) -> None:
        super().__init__(HttpCommands(client, step_timeout))

