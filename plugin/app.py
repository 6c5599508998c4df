"""The FastAPI application: routers, error handlers and per-process wiring."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from plugin.api import billing, connectors, drafting, events, health, metrics, tenants, webhooks, zendesk_app
from plugin.auth import PrincipalCache
from plugin.background import InProcessWorker
from plugin.core.clock import Clock, SystemClock
from plugin.core.config import Settings, get_settings
from plugin.core.db import make_engine, make_session_factory
from plugin.errors import install_error_handlers
from plugin.web import helpdesk_api
from plugin.web import routes as web_routes
from plugin.wiring import KitFactory, share_cores_between_drafts

DESCRIPTION = """AI reply drafts and auto-resolution for helpdesks, billed by outcome
($0.25 per delivered draft, $0.50 per resolution that sticks) and measured against a randomized control arm.

Authenticate with `Authorization: Bearer <token>` (tokens come from `outcomedesk tenant token`).
Errors always have the shape `{"error": "...", "detail": "..."}`."""


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if settings.run_worker:
            worker = InProcessWorker(
                settings, app.state.session_factory, app.state.clock, app.state.kit_factory
            )
            worker.start()
        yield
        if worker is not None:
            worker.stop()

    app = FastAPI(title="outcomedesk", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.clock = clock or SystemClock()
    app.state.kit_factory = KitFactory(settings)
    # Here, on the thread that builds the app, not in the lifespan: threadpoolctl ignores a BLAS limit set
    # from another thread while one thread holds the limits (and tests run the lifespan on a portal thread).
    share_cores_between_drafts()
    app.state.principal_cache = PrincipalCache()
    install_error_handlers(app)
    for router in (
        health.router,
        tenants.router,
        webhooks.router,
        events.router,
        drafting.router,
        connectors.router,
        billing.router,
        metrics.router,
        helpdesk_api.router,
        zendesk_app.router,
        web_routes.router,
    ):
        app.include_router(router)
    return app
