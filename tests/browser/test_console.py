"""An operator in a real browser: an admin finds an order in the console, sees its saga
timeline and its trace waterfall, replays a dead letter made by the test and sees it
consumed, and every console page renders within its Content-Security-Policy; a customer
on /console gets a 403 page, an anonymous visitor is sent to sign in."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import nats
from playwright.sync_api import Page, expect

from mercato.chassis.clock import iso, utc_now
from mercato.chassis.messaging.dlq import dead_letter
from mercato.gateway.policy import ROUTED_SERVICES
from mercato.platform.running import login
from tests.browser.steps import ADMIN, register, sign_in
from tests.system.platform import Platform, wait_for


def place_order(shop: Platform) -> str:
    token, _ = shop.new_customer()
    # a plausible product: the shop's home (and its screenshot) lists the newest ones
    product = shop.new_product(stock=5, name="Stoneware teapot", category="kitchen")
    with shop.client(token) as c:
        r = c.post("/api/v1/orders", json=shop.order_body(product["id"]),
                   headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 202, r.text
    order_id = r.json()["id"]
    assert shop.wait_terminal(token, order_id)["status"] == "confirmed"
    return order_id


def make_dead_letter(shop: Platform) -> str:
    """A UserRegistered that notifications' ``recipients`` consumer gave up on (what the
    chassis writes after the last attempt), for a user nobody else knows: replaying it is
    harmless, and its consumer handles it for the first time."""
    nats_url = json.loads((shop.data_dir / "run" / "state.json").read_text())["nats_url"]
    envelope = {"id": str(uuid.uuid4()), "type": "UserRegistered", "version": 1,
                "source": "identity", "occurred_at": iso(utc_now()),
                "correlation_id": "console-test", "causation_id": None, "traceparent": None,
                "payload": {"user_id": str(uuid.uuid4()), "email": "dlq@example.com",
                            "name": "Dee Letter"}}

    async def write() -> None:
        # a dead letter as notifications' consumer makes one (its own NATS user)
        nc = await nats.connect(nats_url, **login(shop.data_dir, "notifications"))
        try:
            await dead_letter(nc.jetstream(), consumer="notifications__recipients",
                              subject="mercato.identity.UserRegistered",
                              data=json.dumps(envelope).encode(), event_id=envelope["id"],
                              event_type="UserRegistered", attempts=5,
                              error="RuntimeError: the mail relay refused the connection",
                              stream="MERCATO_IDENTITY", stream_seq=10**9)
        finally:
            await nc.close()

    # Playwright's sync API runs an event loop in this thread: NATS gets a thread of its own
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, write()).result(timeout=30)
    return envelope["id"]


def open_menu(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Console").get_by_role("link", name=name,
                                                                  exact=True).click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()


def test_an_admin_finds_an_order_its_saga_and_its_trace(page: Page, shot, shop):
    order_id = place_order(shop)
    sign_in(page, *ADMIN, next_path="/console")
    expect(page.get_by_role("heading", level=1, name="Services")).to_be_visible()
    expect(page.get_by_test_id("instance").filter(has_text="orders")).to_have_count(1)
    shot(page, "console-services")

    open_menu(page, "Orders")
    page.get_by_role("link", name=order_id[:8]).click()
    expect(page.get_by_test_id("saga-phase")).to_have_text("confirmed")
    steps = page.get_by_test_id("saga-step")
    expect(steps).to_have_count(5)
    expect(steps.first).to_contain_text("reserve stock")
    # the sped-up courier may have taken it further already
    expect(page.get_by_test_id("console-order-status")).to_have_text(
        re.compile(r"^(confirmed|shipped|delivered)$"))

    def waterfall_drawn() -> bool:  # spans reach the store about a second after they end
        if page.get_by_test_id("span").count() > 10:
            return True
        page.reload()
        return False

    wait_for(waterfall_drawn, 20, "the order's trace waterfall", every=1.0)
    waterfall = page.get_by_role("table", name="Trace waterfall")
    expect(waterfall).to_contain_text("POST /api/v1/orders")
    expect(waterfall).to_contain_text("saga.step reserve_stock")
    expect(page.locator("tr.slowest")).to_have_count(1)
    shot(page, "console-order")

    open_menu(page, "Orders")
    shot(page, "console-orders")
    open_menu(page, "Events")
    page.get_by_label("Order id").fill(order_id)
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("event").filter(has_text="OrderConfirmed")).to_have_count(1)
    shot(page, "console-events")


def test_an_admin_replays_a_dead_letter_and_sees_it_consumed(page: Page, shot, shop):
    event_id = make_dead_letter(shop)
    sign_in(page, *ADMIN, next_path="/console/dead-letters")
    row = page.get_by_test_id("dead-letter").filter(has_text=event_id)
    expect(row).to_contain_text("notifications__recipients")
    shot(page, "console-dead-letters")
    row.get_by_role("link").first.click()
    expect(page.get_by_text("the mail relay refused the connection")).to_be_visible()
    expect(page.locator("pre.payload")).to_contain_text("Dee Letter")
    shot(page, "console-dead-letter")

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("heading", level=1, name="Replayed")).to_be_visible()
    assert asked and "notifications__recipients" in asked[0]
    expect(page.get_by_test_id("replay-status")).to_contain_text("Consumed", timeout=20_000)
    shot(page, "console-replayed")

    open_menu(page, "Dead letters")
    expect(page.get_by_test_id("dead-letter").filter(has_text=event_id)).to_have_count(0)
    open_menu(page, "Audit")
    entry = page.get_by_test_id("audit-entry").first
    expect(entry).to_contain_text("Replayed dead letter")
    expect(entry).to_contain_text(ADMIN[0])
    shot(page, "console-audit")


def test_the_other_console_pages_render(page: Page, shot, shop):
    sign_in(page, *ADMIN, next_path="/console/stock")
    expect(page.get_by_test_id("stock-row").first).to_be_visible()
    row = page.get_by_test_id("stock-row").first
    row.get_by_label("Units").fill("none")
    row.get_by_role("button", name="Adjust").click()
    expect(page.get_by_text("A whole number of units, not zero")).to_be_visible()
    row = page.get_by_test_id("stock-row").first
    row.get_by_label("Units").fill("2")
    row.get_by_label("Reason").fill("a delivery came in")
    row.get_by_role("button", name="Adjust").click()
    expect(page.get_by_role("status")).to_contain_text("Adjusted the stock of")
    shot(page, "console-stock")

    open_menu(page, "Metrics")
    expect(page.get_by_test_id("chart")).to_have_count(4)
    expect(page.get_by_role("img", name=re.compile("Requests per second"))).to_be_visible()
    shot(page, "console-metrics")
    open_menu(page, "Deployments")
    expect(page.get_by_test_id("deployment-row")).to_have_count(len(ROUTED_SERVICES))
    shot(page, "console-deployments")


def test_a_customer_gets_a_403_page_and_a_stranger_is_sent_to_sign_in(page: Page,
                                                                       second_page: Page,
                                                                       shot, shop):
    page.goto("/console/orders")
    expect(page).to_have_url(re.compile(r"/signin\?next=/console/orders$"))
    register(second_page)
    second_page.goto("/console")
    expect(second_page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(second_page.get_by_text("The console is for administrators")).to_be_visible()
    shot(second_page, "console-403")
