"""The JSON API: one router per resource, collected under ``/api``."""

from fastapi import APIRouter

from unseen.shop.routes import auth, cart, favourites, feed, operator, orders, products

api_router = APIRouter(prefix="/api")
for _module in (auth, products, cart, favourites, feed, orders, operator):
    api_router.include_router(_module.router)

__all__ = ["api_router"]
