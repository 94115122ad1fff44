"""Cart, favourites, checkout and order history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from unseen.shop import crud
from unseen.shop.deps import OrderId, ProductId, SessionDep
from unseen.shop.errors import ShopError
from unseen.shop.pages.guard import PageAuth
from unseen.shop.pages.render import redirect, render, safe_next, validate_form
from unseen.shop.schemas import CartAddIn, CartUpdateIn

router = APIRouter()
Text = Annotated[str, Form()]


def _cart_page(request: Request, auth, session, *, errors=(), status_code=200):
    lines = crud.get_cart(session=session, user_id=auth.user.id)
    return render(request, "cart.html", auth=auth, session=session, lines=lines,
                  total=sum(i.quantity * p.price_cents for i, p in lines), errors=list(errors),
                  status_code=status_code)


def _product_page_with_errors(request: Request, auth, session, product_id: int, errors: list[str], status_code: int):
    try:
        product = crud.get_product(session=session, product_id=product_id)
    except ShopError:
        return _cart_page(request, auth, session, errors=errors, status_code=status_code)
    favourite = product.id in crud.favourite_ids(session=session, user_id=auth.user.id)
    return render(request, "product.html", auth=auth, session=session, product=product, favourite=favourite,
                  errors=errors, status_code=status_code)


@router.get("/cart")
def cart(request: Request, auth: PageAuth, session: SessionDep):
    return _cart_page(request, auth, session)


@router.post("/cart/add")
def cart_add(request: Request, auth: PageAuth, session: SessionDep, product_id: Text = "", quantity: Text = "1",
             next: Text = ""):
    body, errors = validate_form(CartAddIn, {"product_id": product_id, "quantity": quantity})
    if body is None:
        pid = int(product_id) if product_id.isascii() and product_id.isdigit() and len(product_id) < 19 else 0
        return _product_page_with_errors(request, auth, session, pid, errors, 422)
    try:
        crud.add_to_cart(session=session, user_id=auth.user.id, product_id=body.product_id, quantity=body.quantity,
                         session_id=auth.session.id)
    except ShopError as exc:
        session.rollback()
        return _product_page_with_errors(request, auth, session, body.product_id, [exc.message], exc.status_code)
    session.commit()
    return redirect(safe_next(next, f"/products/{body.product_id}"), msg="cart_added")


@router.post("/cart/{product_id}/quantity")
def cart_quantity(product_id: ProductId, request: Request, auth: PageAuth, session: SessionDep, quantity: Text = ""):
    body, errors = validate_form(CartUpdateIn, {"quantity": quantity})
    if body is None:
        return _cart_page(request, auth, session, errors=errors, status_code=422)
    try:
        crud.set_cart_quantity(session=session, user_id=auth.user.id, product_id=product_id, quantity=body.quantity,
                               session_id=auth.session.id)
    except ShopError as exc:
        session.rollback()
        return _cart_page(request, auth, session, errors=[exc.message], status_code=exc.status_code)
    session.commit()
    return redirect("/cart", msg="cart_updated")


@router.post("/cart/{product_id}/remove")
def cart_remove(product_id: ProductId, auth: PageAuth, session: SessionDep):
    crud.remove_from_cart(session=session, user_id=auth.user.id, product_id=product_id, session_id=auth.session.id)
    session.commit()
    return redirect("/cart", msg="cart_removed")


@router.get("/favourites")
def favourites(request: Request, auth: PageAuth, session: SessionDep):
    return render(request, "favourites.html", auth=auth, session=session,
                  items=crud.list_favourites(session=session, user_id=auth.user.id))


@router.post("/favourites/{product_id}")
def favourite_add(product_id: ProductId, auth: PageAuth, session: SessionDep, next: Text = ""):
    crud.add_favourite(session=session, user_id=auth.user.id, product_id=product_id, session_id=auth.session.id)
    session.commit()
    return redirect(safe_next(next, f"/products/{product_id}"), msg="favourite_added")


@router.post("/favourites/{product_id}/remove")
def favourite_remove(product_id: ProductId, auth: PageAuth, session: SessionDep, next: Text = ""):
    crud.remove_favourite(session=session, user_id=auth.user.id, product_id=product_id, session_id=auth.session.id)
    session.commit()
    return redirect(safe_next(next, "/favourites"), msg="favourite_removed")


@router.get("/checkout")
def checkout_page(request: Request, auth: PageAuth, session: SessionDep):
    lines = crud.get_cart(session=session, user_id=auth.user.id)
    return render(request, "checkout.html", auth=auth, session=session, lines=lines,
                  total=sum(i.quantity * p.price_cents for i, p in lines))


@router.post("/checkout")
def checkout(request: Request, auth: PageAuth, session: SessionDep):
    try:
        order = crud.checkout(session=session, user_id=auth.user.id, session_id=auth.session.id)
    except ShopError as exc:
        session.rollback()
        return _cart_page(request, auth, session, errors=[exc.message], status_code=exc.status_code)
    session.commit()
    return redirect(f"/orders/{order.id}", msg="ordered")


@router.get("/orders")
def orders(request: Request, auth: PageAuth, session: SessionDep):
    items = crud.list_orders(session=session, user_id=auth.user.id)
    return render(request, "orders.html", auth=auth, session=session, orders=items,
                  lines=crud.order_lines(session=session, order_ids=[o.id for o in items]))


@router.get("/orders/{order_id}")
def order(order_id: OrderId, request: Request, auth: PageAuth, session: SessionDep):
    item = crud.get_order(session=session, user_id=auth.user.id, order_id=order_id)
    return render(request, "order.html", auth=auth, session=session, order=item,
                  lines=crud.order_lines(session=session, order_ids=[item.id])[item.id])
