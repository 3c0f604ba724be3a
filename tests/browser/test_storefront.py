"""A shopper in a real browser: register, search, fill a cart, check out, watch the order
go from pending to delivered without reloading; a declined card; a double click."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.steps import add_to_cart, fill_address, order_id_of, register
from tests.system.platform import wait_for

MUG = "Enamel camping mug"
KNIFE = "Chef's knife 20 cm"


def checkout(page: Page, card: str) -> str:
    page.get_by_role("link", name="Cart", exact=True).click()
    page.get_by_role("link", name="Checkout", exact=True).click()
    fill_address(page)
    page.get_by_label("Card").select_option(card)
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+$"))
    return order_id_of(page)


def test_a_shopper_buys_two_products_and_watches_them_delivered(page: Page, shot, shop):
    page.goto("/")
    expect(page.get_by_role("heading", name="Featured")).to_be_visible()
    shot(page, "storefront-home")
    register(page)

    page.get_by_label("Search the shop").fill("mug")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=re.compile(MUG))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("knife"))).to_have_count(0)
    shot(page, "storefront-search")
    add_to_cart(page, MUG, 2)
    expect(page.get_by_test_id("availability")).to_have_text(
        re.compile(r"^(In stock|Only \d+ left)$"))
    shot(page, "storefront-product")

    page.goto("/search?category=kitchen")
    add_to_cart(page, KNIFE, 1)
    page.get_by_role("link", name="Cart", exact=True).click()
    lines = page.locator("table.lines tbody tr")
    expect(lines).to_have_count(2)
    expect(page.get_by_test_id("cart-total")).to_have_text("$114.98")  # 2 × 12.99 + 89.00
    page.get_by_label(f"Quantity of {MUG}").fill("1")
    page.get_by_label(f"Quantity of {MUG}").press("Enter")
    expect(page.get_by_test_id("cart-total")).to_have_text("$101.99")
    shot(page, "storefront-cart")

    page.get_by_role("link", name="Checkout", exact=True).click()
    shot(page, "storefront-checkout")
    fill_address(page)
    page.get_by_label("Card").select_option("tok_ok")
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+$"))
    page.evaluate("window.__sameDocument = true")  # a reload would drop it

    status = page.get_by_test_id("order-status")
    expect(status).to_have_text("confirmed", timeout=30_000)
    shot(page, "storefront-order-confirmed")
    expect(status).to_have_text("shipped", timeout=30_000)
    expect(status).to_have_text("delivered", timeout=60_000)
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    timeline = page.locator("ol.timeline li")
    expect(timeline).to_have_count(7)
    expect(page.locator("ol.timeline li.done")).to_have_count(7)
    shot(page, "storefront-order-delivered")

    page.get_by_role("link", name="My orders", exact=True).click()
    expect(page.locator("table.lines tbody tr")).to_have_count(1)
    expect(page.locator("table.lines .status")).to_have_text("delivered")
    shot(page, "storefront-my-orders")
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("strong").filter(has_text=re.compile("has been delivered"))
           ).to_be_visible()
    shot(page, "storefront-notifications")


def test_a_declined_card_cancels_the_order_and_gives_the_stock_back(page: Page, shop, shot):
    register(page)
    page.goto("/search?q=lamp")
    page.get_by_role("link", name=re.compile("Desk lamp")).click()
    product_id = page.url.rsplit("/", 1)[1]
    with shop.client() as api:
        before = api.get(f"/api/v1/inventory/stock/{product_id}").json()
    page.get_by_label("Quantity").fill("3")
    page.get_by_role("button", name="Add to cart").click()
    order_id = checkout(page, "tok_decline")

    expect(page.get_by_test_id("order-status")).to_have_text("cancelled", timeout=30_000)
    expect(page.get_by_test_id("cancel-reason")).to_have_text("Payment declined")
    shot(page, "storefront-order-declined")
    with shop.client() as api:
        def settled():
            stock = api.get(f"/api/v1/inventory/stock/{product_id}").json()
            return stock if stock["available"] == before["available"] else None
        after = wait_for(settled, 20, "the declined order's stock to be released")
    assert after["sold"] == before["sold"]
    assert order_id


def test_a_double_click_on_place_order_places_one_order(page: Page, shop):
    email = register(page)
    page.goto("/search?q=mug")
    add_to_cart(page, MUG, 1)
    page.get_by_role("link", name="Cart", exact=True).click()
    page.get_by_role("link", name="Checkout", exact=True).click()
    fill_address(page)
    page.get_by_role("button", name="Place order").dblclick()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+$"))
    first = order_id_of(page)
    token = shop.login(email, "correct horse battery")
    with shop.client(token) as api:
        orders = api.get("/api/v1/orders").json()["items"]
    assert [o["id"] for o in orders] == [first]


def test_the_same_checkout_form_posted_twice_places_one_order(page: Page, shop):
    """Without the page's script (a replayed POST, a second tab): the form's
    Idempotency-Key makes the second post land on the first order."""
    email = register(page)
    page.goto("/search?q=mug")
    add_to_cart(page, MUG, 1)
    page.goto("/checkout")
    form = {name: page.locator(f"form.address input[name={name}]").input_value()
            for name in ("csrf", "idempotency_key")}
    posted = {**form, "name": "Ada", "line1": "1 Analytical St", "city": "London",
              "postal_code": "N1", "country": "GB", "card_token": "tok_ok"}
    first = page.request.post("/checkout", form=posted, max_redirects=0)
    second = page.request.post("/checkout", form=posted, max_redirects=0)
    assert first.status == second.status == 303
    assert first.headers["location"] == second.headers["location"]
    token = shop.login(email, "correct horse battery")
    with shop.client(token) as api:
        assert len(api.get("/api/v1/orders").json()["items"]) == 1
