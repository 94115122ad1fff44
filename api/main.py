"""ASGI entry point: ``uvicorn api.main:app``. Settings come from the environment (``UNSEEN_*``)."""

from unseen.shop import create_app

app = create_app()
