"""Operators manage the catalogue: list, create, edit, delete products."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request

from unseen.shop import crud
from unseen.shop.deps import ProductId, SessionDep
from unseen.shop.errors import ShopError
from unseen.shop.pages.guard import PageOperator
from unseen.shop.pages.render import redirect, render, validate_form
from unseen.tables import ProductCreate, ProductUpdate

router = APIRouter(prefix="/operator")
Text = Annotated[str, Form()]


def _form(name: str, category: str, price: str, stock: str, description: str) -> dict:
    return {"name": name, "category": category, "price": price, "stock": stock, "description": description}


def _price_cents(price: str) -> int | str:
    """'12.50' -> 1250; what cannot be read stays text so that validation names it."""
    try:
        value = round(float(price.replace("£", "").replace(",", "").strip()) * 100)
    except (ValueError, OverflowError):  # not a number, or infinite ("inf", "1e400")
        return price
    return value if abs(value) < 10**12 else price


def _product_data(form: dict) -> dict:
    return {"name": form["name"], "category": form["category"], "price_cents": _price_cents(form["price"]),
            "stock": form["stock"], "description": form["description"]}


@router.get("/products")
def products(request: Request, auth: PageOperator, session: SessionDep,
             page: Annotated[int, Query(ge=1, le=100_000)] = 1, q: Annotated[str | None, Query(max_length=200)] = None):
    items, total = crud.list_products(session=session, page=page, per_page=50, query=(q or "").replace("\x00", ""))
    return render(request, "operator_products.html", auth=auth, session=session, items=items, total=total, page=page,
                  pages=crud.pages(total, 50), q=q or "", form={})


@router.post("/products")
def create(request: Request, auth: PageOperator, session: SessionDep, name: Text = "", category: Text = "",
           price: Text = "", stock: Text = "", description: Text = ""):
    form = _form(name, category, price, stock, description)
    product_in, errors = validate_form(ProductCreate, _product_data(form))
    if product_in is not None:
        try:
            product = crud.create_product(session=session, product_in=product_in)
        except ShopError as exc:
            errors = [exc.message]
        else:
            session.commit()
            return redirect(f"/operator/products/{product.id}", msg="product_saved")
    items, total = crud.list_products(session=session, page=1, per_page=50)
    return render(request, "operator_products.html", auth=auth, session=session, items=items, total=total, page=1,
                  pages=crud.pages(total, 50), q="", form=form, errors=errors, status_code=422)


@router.get("/products/{product_id}")
def edit_page(product_id: ProductId, request: Request, auth: PageOperator, session: SessionDep):
    product = crud.get_product(session=session, product_id=product_id)
    form = _form(product.name, product.category, f"{product.price_cents / 100:.2f}", str(product.stock),
                 product.description)
    return render(request, "operator_product.html", auth=auth, session=session, product=product, form=form)


@router.post("/products/{product_id}")
def update(product_id: ProductId, request: Request, auth: PageOperator, session: SessionDep, name: Text = "",
           category: Text = "", price: Text = "", stock: Text = "", description: Text = ""):
    product = crud.get_product(session=session, product_id=product_id)
    form = _form(name, category, price, stock, description)
    product_in, errors = validate_form(ProductUpdate, _product_data(form))
    if product_in is None:
        return render(request, "operator_product.html", auth=auth, session=session, product=product, form=form,
                      errors=errors, status_code=422)
    crud.update_product(session=session, product=product, product_in=product_in)
    session.commit()
    return redirect(f"/operator/products/{product.id}", msg="product_saved")


@router.post("/products/{product_id}/delete")
def delete(product_id: ProductId, auth: PageOperator, session: SessionDep):
    product = crud.get_product(session=session, product_id=product_id)
    crud.delete_product(session=session, product=product)
    session.commit()
    return redirect("/operator/products", msg="product_deleted")
