"""Server-rendered HTML pages (Jinja2, no JavaScript build step); every form is CSRF-protected."""

from fastapi import APIRouter, Depends

from unseen.shop.pages import account, basket, catalogue, operator
from unseen.shop.pages.render import csrf_protect

pages_router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
for _module in (catalogue, account, basket, operator):
    pages_router.include_router(_module.router)

__all__ = ["pages_router"]
