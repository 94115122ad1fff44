"""A shopper in real Chromium against the real server: register, log in, browse, search, cart, favourite, buy."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.servers import shop_server, unseen_command
from unseen.config import PROJECT_ROOT

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('browser')}/shop.db"
    result = subprocess.run(
        unseen_command("seed", "--database-url", url, "--customers", "30", "--products", "80", "--months", "24",
                       "--until", "2026-10-31"),
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with shop_server(url) as base:
        yield base


def test_shopper_journey(page, shop, screenshot):
    page.goto(f"{shop}/")
    assert "Popular right now" in page.content()

    page.click("text=Register")
    page.fill("input[name=full_name]", "Robin Example")
    page.fill("input[name=email]", "robin@example.com")
    page.fill("input[name=password]", "short")
    page.locator("form.stacked button[type=submit]").click()
    # The browser's own check stops an 8-character minimum; fill a valid password instead.
    page.fill("input[name=password]", "a long enough password")
    page.locator("form.stacked button[type=submit]").click()
    page.wait_for_url(re.compile(r"/products"))
    assert "Your account is ready" in page.content()

    page.click("text=Log out")
    page.wait_for_url(re.compile(r"/\?msg=logged_out"))
    page.click("text=Log in")
    page.fill("input[name=email]", "robin@example.com")
    page.fill("input[name=password]", "wrong password!")
    page.locator("form.stacked button[type=submit]").click()
    assert "incorrect e-mail or password" in page.content()
    page.fill("input[name=email]", "robin@example.com")
    page.fill("input[name=password]", "a long enough password")
    page.locator("form.stacked button[type=submit]").click()
    page.wait_for_url(re.compile(r"/products"))

    page.fill("header input[name=q]", "bag")
    page.locator("header form.search button").click()
    page.wait_for_url(re.compile(r"q=bag"))
    assert "Results for “bag”" in page.content()
    page.locator("#product-grid .card:not(:has(.stock.out)) a").first.click()
    page.wait_for_url(re.compile(r"/products/\d+$"))
    product_name = page.locator("h1").inner_text()

    page.click("#favourite")
    page.wait_for_url(re.compile(r"msg=favourite_added"))
    page.fill("input[name=quantity]", "2")
    page.click("#add-to-cart")
    page.wait_for_url(re.compile(r"msg=cart_added"))
    assert "Cart (2)" in page.locator("#cart-link").inner_text()

    page.click("text=Favourites")
    assert product_name in page.content()

    page.click("#cart-link")
    assert product_name in page.content()
    screenshot("cart")
    page.click("#checkout")
    page.click("#place-order")
    page.wait_for_url(re.compile(r"/orders/\d+\?msg=ordered"))
    assert "Your order is placed" in page.content() and product_name in page.content()

    page.click("nav >> text=Orders")
    assert product_name in page.content()
    assert "Cart (0)" in page.locator("#cart-link").inner_text()
    screenshot("orders")


def test_category_filter_and_paging(page, shop, screenshot):
    page.goto(f"{shop}/products")
    page.select_option("select[name=category]", value="Kitchen")
    page.locator("form.filters button").click()
    page.wait_for_url(re.compile(r"category=Kitchen"))
    categories = page.locator("#product-grid .category").all_inner_texts()
    assert categories and set(categories) == {"Kitchen"}
    page.goto(f"{shop}/products")
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"page=2"))
    assert "Page 2 of" in page.content()
    screenshot("products-page-2")
