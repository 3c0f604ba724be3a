"""Orders' v2 routes over HTTP (in process): the same handlers and read models as v1,
shaped otherwise (money objects, a timeline, links); v1 and v2 agree on the same order."""

from __future__ import annotations

from mercato.services.orders.domain.answers import Result
from tests.unit.orders.conftest import ALICE, body
from tests.unit.orders.test_orders_api import api, shop  # noqa: F401 - fixtures

DECLINED = Result("rejected", "402: declined")
LINKS = {"self": "/api/v2/orders/{id}", "shipment": "/api/v1/shipping/shipments?order_id={id}",
         "payment": "/api/v1/payments?order_id={id}"}


def links(order_id: str) -> dict:
    return {k: v.format(id=order_id) for k, v in LINKS.items()}


async def test_a_v2_order_is_placed_by_the_same_handler_and_answered_with_money_objects(
        api, shop):  # noqa: F811 - fixtures
    placed = await api.post("/api/v2/orders", json=body(("p1", 2), ("p2", 1)),
                            headers=api.alice)
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["id"]
    assert placed.json() == {"id": order_id, "status": "pending",
                             "total": {"amount": 2 * 1299 + 1800, "currency": "USD"},
                             "links": links(order_id)}
    assert placed.headers["location"] == f"/api/v2/orders/{order_id}"
    assert (await shop.store.get_order(order_id)).customer_id == "alice"


async def test_v1_and_v2_show_the_same_order(api, shop):  # noqa: F811 - fixtures
    order_id = await shop.order(ALICE, ("p1", 2), ("p2", 1))
    await shop.projector.catch_up()
    v1 = (await api.get(f"/api/v1/orders/{order_id}", headers=api.alice)).json()
    r = await api.get(f"/api/v2/orders/{order_id}", headers=api.alice)
    assert r.status_code == 200
    v2 = r.json()
    assert v2 == {
        "id": order_id, "customer_id": "alice", "status": "confirmed", "reason": None,
        "timeline": [{"status": "pending", "at": "2026-03-01T09:00:00Z"},
                     {"status": "confirmed", "at": "2026-03-01T09:00:00Z"}],
        "total": {"amount": 4398, "currency": "USD"},
        "items": [{"product_id": "p1", "name": "Mug", "quantity": 2,
                   "unit_price": {"amount": 1299, "currency": "USD"},
                   "amount": {"amount": 2598, "currency": "USD"}},
                  {"product_id": "p2", "name": "Hat", "quantity": 1,
                   "unit_price": {"amount": 1800, "currency": "USD"},
                   "amount": {"amount": 1800, "currency": "USD"}}],
        "shipping_address": v1["shipping_address"], "created_at": v1["created_at"],
        "links": links(order_id)}
    assert [(t["status"], t["at"]) for t in v2["timeline"]] == [
        (h["status"], h["at"]) for h in v1["history"]]


async def test_a_cancelled_order_ends_its_timeline_cancelled_with_the_reason(
        api, shop):  # noqa: F811 - fixtures
    shop.fake.answer("authorize_payment", DECLINED)
    order_id = await shop.order(ALICE, ("p2", 1), card="tok_decline")
    for _ in range(2):  # folded from the event store, then from the read model
        v2 = (await api.get(f"/api/v2/orders/{order_id}", headers=api.alice)).json()
        assert (v2["status"], v2["reason"]) == ("cancelled", "payment_declined")
        assert [t["status"] for t in v2["timeline"]] == ["pending", "cancelled"]
        await shop.projector.catch_up()


async def test_the_v2_list_is_v1s_with_money_objects_and_links(api, shop):  # noqa: F811
    order_id = await shop.order(ALICE, ("p1", 2), ("p2", 1))
    await shop.projector.catch_up()
    listed = await api.get("/api/v2/orders?limit=5", headers=api.alice)
    assert listed.status_code == 200
    assert listed.json() == {"items": [
        {"id": order_id, "status": "confirmed", "total": {"amount": 4398, "currency": "USD"},
         "created_at": "2026-03-01T09:00:00Z", "item_count": 3, "links": links(order_id)}]}
    assert (await api.get("/api/v2/orders", headers=api.bob)).json() == {"items": []}
    refused = await api.get("/api/v2/orders?limit=0", headers=api.alice)
    assert refused.status_code == 422 and "limit" in refused.text


async def test_v2_hides_another_users_order_and_refuses_a_bad_body(api, shop):  # noqa: F811
    order_id = await shop.order(ALICE, ("p1", 1))
    hidden = await api.get(f"/api/v2/orders/{order_id}", headers=api.bob)
    assert hidden.status_code == 404
    assert (await api.get(f"/api/v2/orders/{order_id}")).status_code == 401
    bad = await api.post("/api/v2/orders", json={**body(), "from_cart": True},
                         headers=api.alice)
    assert bad.status_code == 422
    assert "exactly one" in bad.text
