"""The ASGI application `app.main:app`."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import security
from app.contract import install_contract, operation_id
from app.db.bootstrap import bootstrap_admin
from app.db.embedded import release_embedded
from app.db.engine import make_engine, make_sessionmaker, resolve_database_url
from app.db.errors import describe, is_unavailable
from app.db.migrate import upgrade_to_head
from app.db.roles import check_app_role
from app.fhir_http import FhirOutcomeMiddleware, install_fhir_handlers
from app.interop import ucum
from app.interop.fhir import invariants
from app.middleware import RequestContextMiddleware
from app.problems import install_problem_handlers
from app.routers import ROUTERS
from app.services.delivery import DeliveryWorker
from app.settings import Settings, get_settings

log = logging.getLogger(__name__)
STARTUP_DATABASE_WAIT_SECONDS = 300

DESCRIPTION = """
Runs the randomized controlled trial of PT-MSCs Exosome Injection (PT-MSCs-EVS-2023-1) in
acute-on-chronic liver failure: screening and eligibility, 1:1 block randomization, dosing,
visits and scores, safety events, outcomes and endpoints, all audit-trailed in PostgreSQL.

Errors are `application/problem+json` (RFC 9457). POSTs accept `Idempotency-Key`.
"""


class _LazyEngine:
    """Lets the middleware be installed before the lifespan has created the engine."""

    def __init__(self) -> None:
        self.target: AsyncEngine | None = None

    def __call__(self) -> AsyncEngine:
        assert self.target is not None, "the application lifespan has not started"
        return self.target


def freeze_startup_heap() -> None:
    """Keep what start-up built out of every later garbage collection.

    The libraries loaded at start (FHIR models and definitions, the UCUM registry, pydantic
    schemas) leave ~260,000 long-lived objects; a full collection walks them all and stalls
    the worker's event loop for 140-170 ms, every request in flight with it: the service's
    p99 latency under load. Collected once here, then frozen (moved to the permanent
    generation), they are never walked again; objects made by requests are collected as before.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engines = _LazyEngine()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = resolve_database_url(settings)
        owner = make_engine(url, settings)  # migrations may create the app role: connect first
        try:
            await _prepare_database(owner, make_sessionmaker(owner), settings)
        finally:
            await owner.dispose()
        engine = make_engine(url, settings, session_role=settings.db_app_role)
        engines.target = engine
        app.state.engine = engine
        app.state.settings = settings
        await security.warm_up()
        # the UCUM registry takes 0.4-2 s to build: pay it at start, not in a request
        await asyncio.to_thread(ucum.warm_up)
        await asyncio.to_thread(invariants.validator)  # the R4 definitions, for lab ingest
        freeze_startup_heap()
        worker = DeliveryWorker(engine, settings) if settings.webhook_worker else None
        if worker is not None:
            worker.start()  # webhooks: polls the outbox in this process (docs/webhooks.md)
        yield
        if worker is not None:
            await worker.stop()
        await engine.dispose()
        if not settings.database_url:
            release_embedded()  # only the app that started the embedded server lets it go

    app = FastAPI(
        title="ACLF exosome trial service",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    install_problem_handlers(app)
    install_fhir_handlers(app)
    app.add_middleware(RequestContextMiddleware, engine=engines, settings=settings, routers=ROUTERS)
    app.add_middleware(FhirOutcomeMiddleware)  # outermost: /fhir errors as OperationOutcome
    for router in ROUTERS:
        app.include_router(router)
    install_contract(app)
    return app


async def _prepare_database(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Migrate and bootstrap; while the database is unreachable, wait for it.

    A worker that uvicorn respawns during a database outage must not fail its startup:
    uvicorn would then stop the whole server, healthy workers included.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_DATABASE_WAIT_SECONDS
    delay = 0.25
    while True:
        try:
            if settings.run_migrations_on_start:
                await upgrade_to_head(engine, settings.db_app_role)
            await check_app_role(engine, settings.db_app_role)
            if settings.bootstrap_admin_token:
                await bootstrap_admin(sessions, settings.bootstrap_admin_token, settings)
            return
        except Exception as exc:
            if not is_unavailable(exc) or loop.time() > deadline:
                raise
            log.warning(
                "database unavailable at start (%s); retrying in %.2f s", describe(exc), delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


app = create_app()
