"""Engine and session factory; the database URL is resolved once per process."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.db.embedded import embedded_database_url
from app.settings import Settings


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return embedded_database_url(settings.data_dir)


def make_engine(url: str, settings: Settings, *, session_role: str | None = None) -> AsyncEngine:
    """`session_role`: every connection runs as this role from its start (a startup parameter,
    so no round trip): the service's requests and workers never act as the owner, even
    between transactions, which lets a single-statement request skip BEGIN/COMMIT
    (app/single_statement.py). Not behind PgBouncer, which does not pass the parameter on and
    mixes server connections between transactions: there each transaction still enters the
    role itself (`SET LOCAL ROLE`, app/request_auth.py)."""
    server_settings = {"timezone": "UTC"}
    if session_role is not None and not settings.db_pgbouncer:
        server_settings["role"] = session_role
    connect_args: dict[str, object] = {"server_settings": server_settings}
    if settings.db_pgbouncer:
        # PgBouncer transaction pooling: consecutive transactions may run on different server
        # connections, so no prepared statement may outlive its transaction. Turn off both
        # caches (asyncpg's and SQLAlchemy's asyncpg adapter's); asyncpg then uses the unnamed
        # statement, which PostgreSQL replaces with the next one, so nothing piles up.
        connect_args |= {"statement_cache_size": 0, "prepared_statement_cache_size": 0}
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        # overflow 0 by default: under load, connections opened and closed per request cost
        # PostgreSQL a backend each and can run it out of slots ("too many clients"); a full
        # pool makes the request wait up to DB_POOL_TIMEOUT_SECONDS, then answer 503
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # no pre-ping round trip per request: a dead connection fails its request with a 503
        # (middleware) and SQLAlchemy then invalidates the pool, so the next request reconnects
        pool_pre_ping=False,
        # bound parameters are data (names, dates of birth, tokens' hashes): never put them in
        # exception messages or logs; app/db/errors.py keeps PostgreSQL's own echoes out too
        hide_parameters=True,
        connect_args=connect_args,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
