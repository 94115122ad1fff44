"""The committed OpenAPI contract (``api/openapi.json``) and the schema the code generates now."""

from __future__ import annotations

from unseen.config import PROJECT_ROOT, Settings
from unseen.db import make_engine

CONTRACT_PATH = PROJECT_ROOT / "api" / "openapi.json"


def current_schema() -> dict:
    """The OpenAPI document of the shop as the code defines it (built on a throwaway in-memory database)."""
    from unseen.shop import create_app

    return create_app(Settings(), make_engine("sqlite://")).openapi()
