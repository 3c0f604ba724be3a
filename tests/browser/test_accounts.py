"""Accounts in the browser: bad input is named on the form, sessions live in HttpOnly
cookies that scripts cannot read, signing out ends them, a cart needs a sign-in."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.steps import PASSWORD, register, sign_in


def test_bad_registration_input_is_named_on_the_form_and_creates_nothing(page: Page, shop,
                                                                          shot):
    page.goto("/register")
    page.get_by_label("Name").fill("Grace")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("x")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".field-error").first).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Grace")  # what was typed stays
    shot(page, "storefront-register-errors")
    with shop.client() as api:
        r = api.post("/api/v1/identity/token", json={"email": "not-an-email",
                                                     "password": "x"})
    assert r.status_code in (401, 422)


def test_a_session_is_an_httponly_cookie_and_sign_out_ends_it(page: Page, shot):
    email = register(page)
    cookies = {c["name"]: c for c in page.context.cookies()}
    for name in ("mercato_access", "mercato_refresh", "mercato_csrf"):
        assert cookies[name]["httpOnly"] is True, name
    assert cookies["mercato_access"]["sameSite"] == "Lax"
    assert "mercato_access" not in page.evaluate("document.cookie")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert "mercato_access" not in {c["name"] for c in page.context.cookies()}

    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The email or the password is wrong.")
    shot(page, "storefront-signin-wrong")
    sign_in(page, email, PASSWORD)


def test_adding_to_the_cart_asks_an_anonymous_visitor_to_sign_in_first(page: Page):
    page.goto("/search?q=beanie")
    page.get_by_role("link", name=re.compile("Wool beanie")).click()
    product = page.url
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/signin\?next=/products/"))
    page.get_by_role("link", name="Register").first.click()
    register(page)
    page.goto(product)
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("Added to your cart")
