"""The HTML shop as a browser uses it: pages, CSRF-protected forms, redirects, field messages, operator forms."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.conftest import PASSWORD, add_product, add_user
from tests.shop._html import csrf_token, form_token, is_html, page_errors, set_cookie_header, submit
from tests.shop._records import cart_rows, events, order_count, product
from unseen.config import Settings
from unseen.shop import create_app
from unseen.tables import EventKind, Product, Role, User

NEW_ACCOUNT = {"email": "sam@example.com", "full_name": "Sam Shopper", "password": "a long password"}


def page_login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    response = submit(client, "/login", {"email": email, "password": password, "next": "/products"})
    assert response.status_code == 303, response.text


@pytest.fixture
def shopper(client: TestClient, engine: Engine) -> User:
    """A customer logged in through the login form (the client holds the session cookie)."""
    user = add_user(engine, email="jane@example.com")
    page_login(client, "jane@example.com")
    return user


@pytest.fixture
def shop_operator(client: TestClient, engine: Engine) -> User:
    user = add_user(engine, email="op@example.com", role=Role.operator)
    page_login(client, "op@example.com")
    return user


def _users(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [u.email for u in session.exec(select(User)).all()]


# --- plain pages ------------------------------------------------------------------------------------------------


def test_public_pages_are_html(client: TestClient, engine: Engine):
    mug = add_product(engine, name="Blue Mug", category="Kitchen")
    for url in ("/", "/products", "/products?q=mug&category=Kitchen&page=1", "/products?order=price&page=2",
                f"/products/{mug.id}", "/login", "/login?next=/cart", "/register", "/logout"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert is_html(response), url
        assert "<!doctype html>" in response.text


def test_product_feed_pages_searches_and_filters(client: TestClient, engine: Engine, settings: Settings):
    settings.page_size = 2
    for name in ("Apple Mug", "Blue Mug", "Cherry Mug"):
        add_product(engine, name=name, category="Kitchen")
    add_product(engine, name="Green Scarf", category="Clothing")

    second_page = client.get("/products", params={"category": "Kitchen", "page": 2}).text
    search = client.get("/products", params={"q": "SCARF"}).text

    assert "Cherry Mug" in second_page and "Apple Mug" not in second_page and "Page 2 of 2" in second_page
    assert "Green Scarf" in search and "Blue Mug" not in search and "1 product<" in search


def test_product_page_shows_the_product_and_records_a_view(client: TestClient, engine: Engine):
    mug = add_product(engine, name="Blue Mug", price_cents=1250, stock=3)

    response = client.get(f"/products/{mug.id}")

    assert "Blue Mug" in response.text and "£12.50" in response.text and "3 in stock" in response.text
    [view] = events(engine, EventKind.view)
    assert view.product_id == mug.id


@pytest.mark.parametrize(("url", "status"), [("/products/999", 404), ("/products/mug", 422), ("/products/0", 422),
                                             ("/products?page=0", 422), ("/products?order=cheap", 422),
                                             ("/nowhere", 404)])
def test_bad_addresses_get_an_html_error_page(client: TestClient, url: str, status: int):
    response = client.get(url)

    assert response.status_code == status
    assert is_html(response)
    assert page_errors(response.text)


@pytest.mark.parametrize("url", ["/cart", "/orders", "/favourites", "/checkout", "/orders/1"])
def test_private_pages_send_visitors_to_log_in(client: TestClient, url: str):
    response = client.get(url, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={url}"


# --- register ---------------------------------------------------------------------------------------------------


def test_register_page_sets_the_csrf_cookie_and_field(client: TestClient):
    response = client.get("/register")

    cookie = set_cookie_header(response, "unseen_csrf").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    token = csrf_token(response.text)
    assert token and token != client.cookies["unseen_csrf"]
    assert csrf_token(client.get("/register").text) == token


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_register_without_a_valid_csrf_token_is_403(client: TestClient, engine: Engine, token):
    client.get("/register")
    data = dict(NEW_ACCOUNT) if token is None else {**NEW_ACCOUNT, "csrf_token": token}

    response = client.post("/register", data=data, follow_redirects=False)

    assert response.status_code == 403
    assert is_html(response)
    assert "did not come from this shop" in page_errors(response.text)[0]
    assert _users(engine) == []


def test_register_with_a_token_for_another_browser_is_403(client: TestClient, settings: Settings, engine: Engine):
    other_browser = TestClient(create_app(settings, engine))
    stolen = form_token(other_browser, "/register")
    client.get("/register")

    response = client.post("/register", data={**NEW_ACCOUNT, "csrf_token": stolen}, follow_redirects=False)

    assert response.status_code == 403
    assert _users(engine) == []


def test_register_creates_the_account_and_logs_in(client: TestClient, engine: Engine):
    response = submit(client, "/register", NEW_ACCOUNT, token_from="/register")

    assert response.status_code == 303
    assert response.headers["location"] == "/products?msg=registered"
    cookie = set_cookie_header(response, "unseen_session").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert _users(engine) == ["sam@example.com"]
    cart = client.get("/cart")
    assert cart.status_code == 200 and "Your cart" in cart.text and "sam@example.com" in cart.text
    assert "Welcome!" in client.get(response.headers["location"]).text
    [login_ok] = events(engine, EventKind.login_ok)
    assert login_ok.session_id is not None


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "not-an-email", "email: "),
    ("password", "short", "password: String should have at least 8 characters"),
    ("full_name", "   ", "full name: String should have at least 1 character"),
])
def test_register_with_bad_input_is_422_and_names_the_field(client: TestClient, engine: Engine, field, value,
                                                             message):
    response = submit(client, "/register", {**NEW_ACCOUNT, field: value}, token_from="/register")

    assert response.status_code == 422
    assert is_html(response)
    assert any(error.startswith(message) for error in page_errors(response.text)), page_errors(response.text)
    for kept in (v for k, v in NEW_ACCOUNT.items() if k not in (field, "password")):
        assert f'value="{kept}"' in response.text
    assert _users(engine) == []


def test_register_an_existing_email_is_409(client: TestClient, engine: Engine):
    add_user(engine, email="sam@example.com")

    response = submit(client, "/register", {**NEW_ACCOUNT, "email": "SAM@example.com"}, token_from="/register")

    assert response.status_code == 409
    assert "already exists" in page_errors(response.text)[0]
    assert _users(engine) == ["sam@example.com"]


# --- log in and out -------------------------------------------------------------------------------------------


def test_login_form_logs_in_and_goes_to_next(client: TestClient, engine: Engine):
    add_user(engine, email="jane@example.com")

    response = submit(client, "/login", {"email": "jane@example.com", "password": PASSWORD, "next": "/cart"})

    assert response.status_code == 303
    assert response.headers["location"] == "/cart?msg=logged_in"
    assert "httponly" in set_cookie_header(response, "unseen_session").lower()
    assert client.get("/cart").status_code == 200


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_login_never_sends_the_browser_to_another_site(client: TestClient, engine: Engine, next_url: str):
    add_user(engine, email="jane@example.com")

    response = submit(client, "/login", {"email": "jane@example.com", "password": PASSWORD, "next": next_url})

    assert response.headers["location"] == "/products?msg=logged_in"


@pytest.mark.parametrize("email", ["jane@example.com", "nobody@example.com"])
def test_wrong_login_is_401_with_the_same_message(client: TestClient, engine: Engine, email: str):
    add_user(engine, email="jane@example.com")

    response = submit(client, "/login", {"email": email, "password": "not the password"})

    assert response.status_code == 401
    assert is_html(response)
    assert page_errors(response.text) == ["incorrect e-mail or password"]
    assert "unseen_session" not in client.cookies
    assert len(events(engine, EventKind.login_fail)) == 1


def test_login_with_a_malformed_email_is_422(client: TestClient):
    response = submit(client, "/login", {"email": "jane", "password": "x"})

    assert response.status_code == 422
    assert page_errors(response.text)[0].startswith("email: ")


def test_logout_form_ends_the_session(client: TestClient, engine: Engine, shopper: User):
    old_cookie = client.cookies["unseen_session"]

    response = submit(client, "/logout", token_from="/logout")

    assert response.status_code == 303
    assert response.headers["location"] == "/?msg=logged_out"
    assert 'unseen_session=""' in set_cookie_header(response, "unseen_session")
    assert client.get("/cart", follow_redirects=False).status_code == 303
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {old_cookie}"}).status_code == 401
    [logout] = events(engine, EventKind.logout)
    assert logout.user_id == shopper.id


# --- cart, favourites, checkout ---------------------------------------------------------------------------------


def test_add_to_cart_form(client: TestClient, engine: Engine, shopper: User):
    mug = add_product(engine, name="Blue Mug", price_cents=450, stock=5)

    response = submit(client, "/cart/add", {"product_id": str(mug.id), "quantity": "2"},
                      token_from=f"/products/{mug.id}")

    assert response.status_code == 303
    assert response.headers["location"] == f"/products/{mug.id}?msg=cart_added"
    cart = client.get("/cart").text
    assert "Blue Mug" in cart and 'name="quantity" value="2"' in cart and "£9.00" in cart and "Cart (2)" in cart
    [event] = events(engine, EventKind.cart_add)
    assert (event.user_id, event.product_id, event.quantity) == (shopper.id, mug.id, 2)
    assert event.session_id is not None


@pytest.mark.parametrize(("quantity", "message"), [
    ("abc", "quantity: Input should be a valid integer"),
    ("0", "quantity: Input should be greater than or equal to 1"),
    ("-4", "quantity: Input should be greater than or equal to 1"),
    ("1.5", "quantity: Input should be a valid integer"),
])
def test_add_to_cart_with_a_bad_quantity_is_422_on_the_product_page(client: TestClient, engine: Engine, shopper,
                                                                     quantity: str, message: str):
    mug = add_product(engine, name="Blue Mug")

    response = submit(client, "/cart/add", {"product_id": str(mug.id), "quantity": quantity})

    assert response.status_code == 422
    assert "<h1>Blue Mug</h1>" in response.text
    assert any(error.startswith(message) for error in page_errors(response.text)), page_errors(response.text)
    assert cart_rows(engine, shopper.id) == []
    assert events(engine, EventKind.cart_add) == []


@pytest.mark.parametrize("product_id", ["", "abc", "²", "٣", "1" * 40, "0"])
def test_add_to_cart_with_a_bad_product_id_is_422(client: TestClient, engine: Engine, shopper, product_id: str):
    response = submit(client, "/cart/add", {"product_id": product_id, "quantity": "1"})

    assert response.status_code == 422
    assert is_html(response)
    assert any(error.startswith("product id: ") for error in page_errors(response.text)), page_errors(response.text)


def test_add_to_cart_beyond_stock_is_409_naming_the_stock(client: TestClient, engine: Engine, shopper: User):
    mug = add_product(engine, name="Blue Mug", stock=2)

    response = submit(client, "/cart/add", {"product_id": str(mug.id), "quantity": "3"})

    assert response.status_code == 409
    assert "only 2 in stock" in page_errors(response.text)[0]
    assert cart_rows(engine, shopper.id) == []
    assert events(engine, EventKind.cart_add) == []


def test_add_to_cart_of_an_unknown_product_is_404(client: TestClient, shopper: User):
    response = submit(client, "/cart/add", {"product_id": "999", "quantity": "1"})

    assert response.status_code == 404
    assert page_errors(response.text) == ["no product with id 999"]


def test_change_quantity_and_remove_forms(client: TestClient, engine: Engine, shopper: User):
    mug = add_product(engine, name="Blue Mug", stock=5)
    submit(client, "/cart/add", {"product_id": str(mug.id), "quantity": "3"})

    lowered = submit(client, f"/cart/{mug.id}/quantity", {"quantity": "1"}, token_from="/cart")
    bad = submit(client, f"/cart/{mug.id}/quantity", {"quantity": "abc"}, token_from="/cart")
    too_many = submit(client, f"/cart/{mug.id}/quantity", {"quantity": "9"}, token_from="/cart")

    assert (lowered.status_code, lowered.headers["location"]) == (303, "/cart?msg=cart_updated")
    assert bad.status_code == 422 and page_errors(bad.text)[0].startswith("quantity: ")
    assert too_many.status_code == 409 and "only 5 in stock" in page_errors(too_many.text)[0]
    assert cart_rows(engine, shopper.id) == [(mug.id, 1)]

    removed = submit(client, f"/cart/{mug.id}/remove", token_from="/cart")

    assert (removed.status_code, removed.headers["location"]) == (303, "/cart?msg=cart_removed")
    assert "Your cart is empty" in client.get("/cart").text
    assert [(e.kind, e.quantity) for e in events(engine) if e.kind.value.startswith("cart")] == [
        (EventKind.cart_add, 3), (EventKind.cart_remove, 2), (EventKind.cart_remove, 1)]
    again = submit(client, f"/cart/{mug.id}/remove", token_from="/cart")
    assert again.status_code == 404 and is_html(again)


def test_favourite_toggle_forms(client: TestClient, engine: Engine, shopper: User):
    mug = add_product(engine, name="Blue Mug")

    added = submit(client, f"/favourites/{mug.id}", token_from=f"/products/{mug.id}")

    assert (added.status_code, added.headers["location"]) == (303, f"/products/{mug.id}?msg=favourite_added")
    assert "Remove from favourites" in client.get(f"/products/{mug.id}").text
    assert "Blue Mug" in client.get("/favourites").text

    removed = submit(client, f"/favourites/{mug.id}/remove", {"next": f"/products/{mug.id}"})

    assert (removed.status_code, removed.headers["location"]) == (303, f"/products/{mug.id}?msg=favourite_removed")
    assert "Add to favourites" in client.get(f"/products/{mug.id}").text
    assert "No favourites yet" in client.get("/favourites").text
    assert [e.kind for e in events(engine) if e.kind.value.startswith("favourite")] == [
        EventKind.favourite_add, EventKind.favourite_remove]


def test_checkout_form_places_the_order(client: TestClient, engine: Engine, shopper: User):
    mug = add_product(engine, name="Blue Mug", price_cents=450, stock=5)
    submit(client, "/cart/add", {"product_id": str(mug.id), "quantity": "2"})
    assert "Total £9.00" in client.get("/checkout").text

    response = submit(client, "/checkout", token_from="/checkout")

    assert response.status_code == 303
    order_id = int(response.headers["location"].split("/orders/")[1].split("?")[0])
    placed = client.get(response.headers["location"]).text
    assert f"Order #{order_id}" in placed and "Blue Mug" in placed and "£9.00" in placed and "Thank you!" in placed
    assert f"#{order_id}" in client.get("/orders").text and "2 × Blue Mug" in client.get("/orders").text
    assert product(engine, mug.id).stock == 3
    assert cart_rows(engine, shopper.id) == []
    [purchase] = events(engine, EventKind.purchase)
    assert (purchase.product_id, purchase.quantity, purchase.extra) == (mug.id, 2, {"order_id": order_id})


def test_checkout_form_with_an_empty_cart_is_409(client: TestClient, engine: Engine, shopper: User):
    response = submit(client, "/checkout")

    assert response.status_code == 409
    assert "cart is empty" in page_errors(response.text)[0]
    assert order_count(engine) == 0


def test_someone_elses_order_page_is_404(client: TestClient, engine: Engine, shopper: User):
    response = client.get("/orders/999")

    assert response.status_code == 404
    assert page_errors(response.text) == ["no order with id 999"]


def test_anonymous_form_post_goes_to_log_in(client: TestClient, engine: Engine):
    mug = add_product(engine)

    response = submit(client, "/cart/add", {"product_id": str(mug.id)}, token_from=f"/products/{mug.id}")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


# --- operator ---------------------------------------------------------------------------------------------------

PRODUCT_FORM = {"name": "Green Scarf", "category": "Clothing", "price": "12.50", "stock": "3",
                "description": "Wool"}


def _products(engine: Engine) -> list[Product]:
    with Session(engine) as session:
        return list(session.exec(select(Product)).all())


def test_operator_creates_edits_and_deletes_a_product(client: TestClient, engine: Engine, shop_operator: User):
    assert "Add a product" in client.get("/operator/products").text

    created = submit(client, "/operator/products", PRODUCT_FORM, token_from="/operator/products")

    assert created.status_code == 303
    [scarf] = _products(engine)
    assert created.headers["location"] == f"/operator/products/{scarf.id}?msg=product_saved"
    assert (scarf.name, scarf.category, scarf.price_cents, scarf.stock, scarf.description) == (
        "Green Scarf", "Clothing", 1250, 3, "Wool")
    assert 'value="12.50"' in client.get(f"/operator/products/{scarf.id}").text

    edited = submit(client, f"/operator/products/{scarf.id}", {**PRODUCT_FORM, "name": "Red Scarf", "price": "9.99"})

    assert edited.status_code == 303
    assert (product(engine, scarf.id).name, product(engine, scarf.id).price_cents) == ("Red Scarf", 999)

    deleted = submit(client, f"/operator/products/{scarf.id}/delete")

    assert (deleted.status_code, deleted.headers["location"]) == (303, "/operator/products?msg=product_deleted")
    assert product(engine, scarf.id).deleted_at is not None
    assert client.get(f"/products/{scarf.id}").status_code == 404


@pytest.mark.parametrize(("field", "value", "message"), [
    ("price", "abc", "price cents: "),
    ("price", "inf", "price cents: "),
    ("price", "1e400", "price cents: "),
    ("price", "nan", "price cents: "),
    ("price", "0", "price cents: Input should be greater than or equal to 1"),
    ("stock", "-1", "stock: Input should be greater than or equal to 0"),
    ("stock", "many", "stock: "),
    ("name", "   ", "name: "),
])
def test_operator_form_with_bad_input_is_422_naming_the_field(client: TestClient, engine: Engine, shop_operator,
                                                              field: str, value: str, message: str):
    mug = add_product(engine, name="Blue Mug", price_cents=450)

    created = submit(client, "/operator/products", {**PRODUCT_FORM, field: value})
    edited = submit(client, f"/operator/products/{mug.id}", {**PRODUCT_FORM, field: value})

    for response in (created, edited):
        assert response.status_code == 422
        assert is_html(response)
        assert any(error.startswith(message) for error in page_errors(response.text)), page_errors(response.text)
    assert [p.name for p in _products(engine)] == ["Blue Mug"]
    assert product(engine, mug.id).price_cents == 450


def test_customer_gets_403_on_operator_pages(client: TestClient, engine: Engine, shopper: User):
    mug = add_product(engine, name="Blue Mug", price_cents=450)

    responses = [
        client.get("/operator/products"),
        client.get(f"/operator/products/{mug.id}"),
        submit(client, "/operator/products", PRODUCT_FORM),
        submit(client, f"/operator/products/{mug.id}", {**PRODUCT_FORM, "price": "0.01"}),
        submit(client, f"/operator/products/{mug.id}/delete"),
    ]

    for response in responses:
        assert response.status_code == 403
        assert page_errors(response.text) == ["this page is for operators only"]
    [only] = _products(engine)
    assert (only.price_cents, only.deleted_at) == (450, None)


def test_visitor_is_sent_to_log_in_from_operator_pages(client: TestClient):
    response = client.get("/operator/products", follow_redirects=False)

    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/operator/products")


# --- hostile form input -----------------------------------------------------------------------------------------

HOSTILE_TEXT = ["", "a\x00b", "x" * 10_000, "ünïcødé ✓ 🛒", "' OR 1=1 --", "%_", str(10**30), "-1", "1.5", "²", "inf"]


def test_hostile_form_and_query_values_never_break_a_page(settings: Settings, engine: Engine):
    """Every form field and query parameter, filled with hostile text by a logged-in operator: never a 500."""
    mug = add_product(engine, name="Blue Mug", stock=5)
    add_user(engine, email="op@example.com", role=Role.operator)
    client = TestClient(create_app(settings, engine), raise_server_exceptions=False)
    page_login(client, "op@example.com")
    forms = {  # registering logs the new account in, so it comes last
        "/cart/add": {"product_id": str(mug.id), "quantity": "1", "next": "/cart"},
        f"/cart/{mug.id}/quantity": {"quantity": "1"},
        f"/favourites/{mug.id}": {"next": "/favourites"},
        "/operator/products": PRODUCT_FORM,
        f"/operator/products/{mug.id}": PRODUCT_FORM,
        "/login": {"email": "op@example.com", "password": "wrong", "next": "/"},
        "/register": NEW_ACCOUNT,
    }
    token = form_token(client, "/products")
    failures = []
    for url, form in forms.items():
        for field in form:
            for value in HOSTILE_TEXT:
                response = client.post(url, data={**form, field: value, "csrf_token": token}, follow_redirects=False)
                if response.status_code >= 500 or (response.status_code != 303 and not is_html(response)):
                    failures.append((url, field, value[:20], response.status_code))
    for url in ("/products", "/login", "/operator/products"):
        for field in ("q", "category", "page", "order", "next"):
            for value in HOSTILE_TEXT:
                response = client.get(url, params={field: value}, follow_redirects=False)
                if response.status_code >= 500 or not is_html(response):
                    failures.append((url, field, value[:20], response.status_code))
    assert failures == []
