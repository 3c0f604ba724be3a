"""``GET /internal/facts`` of a service, as the chassis serves it (chassis/web/facts.py):
the service's own facts read through its handlers, the outbox added, for ``cli`` only."""

from mercato.services.shipping.bootstrap import build
from mercato.services.shipping.domain import Address, Item
from mercato.services.shipping.handlers import Schedule
from tests.support.service_http import WORKLOAD_KEYS, bearer, service_app
from tests.support.service_http import client as http_client

ADDRESS = Address(name="Ada", line1="1 Way", city="London", postal_code="N1", country="GB")


async def test_facts_list_every_shipment_and_the_unpublished_outbox_for_the_cli(
        tmp_path, make_shipping):
    app, _identity, _orders_token = service_app("shipping", build, tmp_path)
    app.state.shipping = shipping = await make_shipping()
    app.state.runtime.outbox = shipping.outbox
    for n in (1, 2):
        await shipping.schedule(Schedule(shipment_id=f"ship-{n}", order_id=f"order-{n}",
                                         customer_id="user-1", address=ADDRESS,
                                         items=(Item("prod-1", 1),)))
    cli = bearer(WORKLOAD_KEYS.identity("cli").token("shipping"))
    async with http_client(app, headers=cli) as http:
        reply = await http.get("/internal/facts")
    assert reply.status_code == 200
    body = reply.json()
    assert body["shipments"] == [
        {"shipment_id": "ship-1", "order_id": "order-1", "status": "scheduled"},
        {"shipment_id": "ship-2", "order_id": "order-2", "status": "scheduled"}]
    assert body["outbox"]["pending"] == 2  # one ShipmentScheduled each, not relayed here


async def test_facts_are_refused_to_any_caller_but_the_cli(tmp_path, make_shipping):
    app, _identity, orders_token = service_app("shipping", build, tmp_path)
    app.state.shipping = await make_shipping()
    async with http_client(app, headers=bearer(orders_token)) as http:
        reply = await http.get("/internal/facts")
    assert reply.status_code == 403
