"""What a shopper or an operator does in the browser, by accessible names only (what a
screen reader user would find): links, buttons and labelled fields."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

ADMIN = ("admin@mercato.local", "mercato-admin")
PASSWORD = "correct horse battery"


def new_email(prefix: str = "shopper") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def register(page: Page, name: str = "Ada Lovelace", email: str | None = None) -> str:
    email = email or new_email()
    page.goto("/")
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return email


def sign_in(page: Page, email: str, password: str, next_path: str = "/") -> None:
    page.goto("/signin?next=" + next_path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def add_to_cart(page: Page, product_name: str, quantity: int = 1) -> None:
    page.get_by_role("link", name=re.compile(re.escape(product_name))).first.click()
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("Added to your cart")


def fill_address(page: Page) -> None:
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Address line 1").fill("1 Analytical St")
    page.get_by_label("City").fill("London")
    page.get_by_label("Postal code").fill("N1 9GU")
    page.get_by_label("Country").fill("GB")


def order_id_of(page: Page) -> str:
    match = re.search(r"/orders/([^/?#]+)$", page.url)
    assert match, f"not on an order page: {page.url}"
    return match.group(1)
