"""Shipments, addresses and tracking numbers, without any I/O."""

import random

import pytest

from mercato.services.shipping.domain import (
    Item,
    NotDeliverable,
    Shipment,
    ShippingError,
    Status,
    check_deliverable,
    is_tracking_number,
    tracking_number,
)
from tests.unit.shipping.shipping_doubles import address


def shipment(status: Status = Status.SCHEDULED) -> Shipment:
    return Shipment(id="ship-1", order_id="order-1", customer_id="user-1", address=address(),
                    items=(Item("p", 1),), status=status, tracking_number="MRC0000000001",
                    created_at="t0", updated_at="t0")


def test_a_tracking_number_is_mrc_and_ten_upper_case_letters_or_digits():
    number = tracking_number(random.Random(7).choice)
    assert number.startswith("MRC")
    assert len(number) == 13
    assert all(c.isupper() or c.isdigit() for c in number[3:])
    assert is_tracking_number(number)


def test_tracking_numbers_come_from_the_injected_randomness():
    assert tracking_number(random.Random(1).choice) == tracking_number(random.Random(1).choice)
    assert tracking_number(random.Random(1).choice) != tracking_number(random.Random(2).choice)


@pytest.mark.parametrize("text", ["MRC123", "XYZ0123456789", "MRC012345678a", "MRC01234567890"])
def test_text_that_is_not_a_tracking_number_is_recognised(text):
    assert not is_tracking_number(text)


def test_a_blocked_country_is_not_deliverable_and_others_are():
    with pytest.raises(NotDeliverable) as caught:
        check_deliverable(address(country="AQ"), {"aq", "KP"})
    assert caught.value.country == "AQ"
    check_deliverable(address(country="GB"), {"AQ"})


@pytest.mark.parametrize(("field", "value"), [
    ("name", " "), ("line1", ""), ("city", "\t"), ("postal_code", ""),
    ("country", "GBR"), ("country", "gb"), ("country", "G1"),
])
def test_an_address_with_a_blank_line_or_a_bad_country_is_refused(field, value):
    with pytest.raises(ShippingError, match=field.split("_")[0]):
        address(**{field: value})


@pytest.mark.parametrize("quantity", [0, -1, True])
def test_an_item_quantity_must_be_a_positive_integer(quantity):
    with pytest.raises(ShippingError, match="quantity"):
        Item("p", quantity)


def test_cancelling_is_idempotent():
    once = shipment().cancelled("t1")
    assert (once.status, once.updated_at) == (Status.CANCELLED, "t1")
    assert once.cancelled("t2") is once


def test_a_shipment_without_items_is_refused():
    with pytest.raises(ShippingError, match="item"):
        Shipment(id="s", order_id="o", customer_id="u", address=address(), items=(),
                 status=Status.SCHEDULED, tracking_number="MRC0000000001",
                 created_at="t", updated_at="t")
