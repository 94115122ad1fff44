"""The shop application: ``create_app()`` wires settings, database, JSON API, HTML pages and error handling."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from unseen import __version__
from unseen.config import Settings, get_settings
from unseen.db import create_schema, make_engine
from unseen.shop.errors import ShopError
from unseen.ml.registry import ModelRegistry
from unseen.logins.service import LoginRisk
from unseen.monitor.actions import Actions
from unseen.monitor.model import OnlineModel
from unseen.monitor.capture import CaptureMiddleware
from unseen.monitor.notifier import BatchingNotifier
from unseen.monitor.rules import RuleEngine
from unseen.monitor.service import Monitor
from unseen.ml.serving import PromotedModel
from unseen.shop.feed import Feed, PopularityRanking
from unseen.shop.pages import pages_router
from unseen.shop.pages.guard import LoginRequired
from unseen.shop.pages.render import describe_errors, redirect, render
from unseen.shop.routes import api_router

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
RECOMMENDER_TASK = "recommend"
ANOMALY_TASK = "anomaly"

DESCRIPTION = """
The shop of **unseen**: accounts, products, cart, favourites, orders. Every click, cart and favourite change
is recorded as an event for the models to learn from.

Authenticate with the session cookie set by `POST /api/auth/login`, or send its token as
`Authorization: Bearer <token>`. Money is in integer cents.
"""


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path in ("/health", "/openapi.json")


def _error_page(request: Request, status_code: int, title: str, messages: list[str]):
    return render(request, "error.html", status_code=status_code, title=title, errors=messages)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the shop. Without arguments it reads the environment (``UNSEEN_*``) and opens that database."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.resolved_database_url)
    create_schema(engine)

    notifier = BatchingNotifier.from_settings(settings.smtp) if settings.smtp.enabled else None
    registry = ModelRegistry(settings.models_dir)
    anomaly_model = PromotedModel(registry, ANOMALY_TASK, poll_seconds=settings.model_poll_seconds)
    online_model = OnlineModel(anomaly_model.get, settings.anomaly_model, warning_score=settings.rules.warning_score,
                               anomaly_score=settings.rules.anomaly_score)
    monitor = Monitor(engine, judge=RuleEngine(settings.rules).observe_and_judge, score=online_model,
                      act=Actions(settings.actions, notifier=notifier),
                      trusted_proxies=settings.trusted_proxies, allowlist=settings.allowlist)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if notifier is not None:
            notifier.start()
        if settings.monitor_enabled:
            monitor.start()
        if settings.login_risk.enabled:  # read the login history now, not in the first login's request
            threading.Thread(target=_app.state.login_risk.preload, name="unseen-login-history", daemon=True).start()
        try:
            yield
        finally:
            monitor.stop()
            if notifier is not None:
                notifier.stop()

    app = FastAPI(title="unseen shop", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  openapi_tags=[{"name": n} for n in ("auth", "products", "cart", "favourites", "feed", "orders", "operator")])
    app.state.monitor = monitor
    app.state.notifier = notifier
    if settings.monitor_enabled:
        app.add_middleware(CaptureMiddleware, monitor=monitor)
    app.state.settings = settings
    app.state.engine = engine
    app.state.popularity = PopularityRanking(ttl_seconds=settings.feed_cache_seconds)
    app.state.login_risk = LoginRisk(engine, settings.login_risk, settings.secret_key.get_secret_value())
    app.state.anomaly_model = anomaly_model
    app.state.online_model = online_model
    app.state.recommender = PromotedModel(registry, RECOMMENDER_TASK,
                                          poll_seconds=settings.model_poll_seconds)
    app.state.feed = Feed(popularity=app.state.popularity, model=app.state.recommender.get)

    app.include_router(api_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/health", tags=["health"], include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.exception_handler(ShopError)
    async def shop_error(request: Request, exc: ShopError):
        if isinstance(exc, LoginRequired):
            if _wants_json(request):
                return JSONResponse({"detail": "log in first"}, status_code=401)
            return redirect(f"/login?next={exc.next_url}")
        if _wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
            return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)
        titles = {401: "Please log in", 403: "Not allowed", 404: "Not found", 409: "That did not work"}
        return _error_page(request, exc.status_code, titles.get(exc.status_code, "Something is wrong"), [exc.message])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        message = "there is no page at this address" if exc.status_code == 404 else str(exc.detail)
        return _error_page(request, exc.status_code, "Not found" if exc.status_code == 404 else "Sorry", [message])

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        if _wants_json(request):
            details = [
                {key: value for key, value in error.items() if key in ("loc", "msg", "type")} for error in exc.errors()
            ]
            return JSONResponse({"detail": details}, status_code=422)
        return _error_page(request, 422, "Please check the address", describe_errors(exc))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception):
        # A bug, never the user's fault: log it with context, answer without a traceback.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _wants_json(request):
            return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)
        return _error_page(request, 500, "Sorry", ["something went wrong on our side; it has been logged"])

    return app
