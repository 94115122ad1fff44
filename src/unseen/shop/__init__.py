"""The shop: FastAPI + SQLModel, JSON API under /api and server-rendered pages."""

from unseen.shop.app import create_app

__all__ = ["create_app"]
