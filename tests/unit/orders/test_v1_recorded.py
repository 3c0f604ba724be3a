"""v1 of orders answers as it did before v2 (tests/contract/examples, recorded from this
same in-process app before any v2 code existed): the placed order, the list and the
detail, key for key and type for type. The system test checks the same through the
gateway (tests/system/test_api_versions.py)."""

from __future__ import annotations

from tests.contract.shapes import assert_shaped_as_recorded, recorded, shape_differences
from tests.unit.orders.test_orders_api import api, shop  # noqa: F401 - fixtures


async def test_v1_answers_are_shaped_as_recorded_before_v2(api, shop):  # noqa: F811 - fixtures
    placing = recorded("v1_order_placed")["request"]
    placed = await api.post("/api/v1/orders", json=placing["body"], headers=api.alice)
    assert_shaped_as_recorded("v1_order_placed", placed.status_code, placed.json())
    order_id = placed.json()["id"]
    assert placed.headers["location"] == f"/api/v1/orders/{order_id}"
    await shop.settle(order_id)
    await shop.projector.catch_up()
    listed = await api.get("/api/v1/orders", headers=api.alice)
    assert_shaped_as_recorded("v1_orders", listed.status_code, listed.json())
    detail = await api.get(f"/api/v1/orders/{order_id}", headers=api.alice)
    assert_shaped_as_recorded("v1_order", detail.status_code, detail.json())
    assert detail.json()["status"] == "confirmed"


def test_a_changed_shape_is_told_apart_from_the_recording():
    example = recorded("v1_order")["body"]
    money_as_object = {**example, "total": {"amount": 1, "currency": "USD"}}
    assert shape_differences(example, money_as_object) == [
        "$.total: object where the recording has integer"]
    renamed = {k: v for k, v in example.items() if k != "history"} | {"timeline": []}
    assert set(shape_differences(example, renamed)) == {"$: no 'history'",
                                                      "$: 'timeline' is new"}
    line = {**example["items"][0], "unit_price": "12.99"}
    assert shape_differences(example, {**example, "items": [line]}) == [
        "$.items[0].unit_price: string where the recording has integer"]
    reordered = dict(reversed(list(example["shipping_address"].items())))
    assert shape_differences(example, {**example, "shipping_address": reordered}) == [
        "$.shipping_address: the keys in another order (country, postal_code, city, line1,"
        " name)"]
