"""One database connection and one transaction per request, and two ways to use them.

The middleware checks a connection out of the engine's pool and opens the request's
transaction on the driver (asyncpg) connection itself. Code on the hot paths runs its SQL on
that driver connection (`RequestDb.conn`): no ORM, no unit of work, one round trip per
statement. Everything else may still use the ORM: `RequestDb.session()` builds, on first use,
an `AsyncSession` bound to the SAME connection in the driver's autocommit mode - SQLAlchemy
then never begins or commits anything itself, so its statements simply run inside the
request's transaction, which the middleware commits or rolls back once. Never two
transactions per request, whichever layer a service uses.

A few operations run ONE statement (a read, a list, an enrolment: app/single_statement.py).
PostgreSQL runs a lone statement atomically in a transaction of its own, so for them the
middleware sends no BEGIN and no COMMIT: two round trips less. Should such a request need
more after all (the ORM, or several writes), `atomic()` opens the transaction then, with the
audit context set again.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from app.db.audit_context import SET_CONTEXT_SQL, AuditContext

COMMIT_ON_ERROR = "commit_on_error"


class RequestDb:
    """The request's connection (checked out of the pool) and its transaction."""

    def __init__(self, engine: AsyncEngine, proxied: PoolProxiedConnection) -> None:
        self._engine = engine
        self._proxied = proxied
        self.conn: asyncpg.Connection = proxied.driver_connection
        self._transaction: Any = None
        self._orm: AsyncConnection | None = None
        self._session: AsyncSession | None = None
        self.info: dict[str, Any] = {}
        self.context = AuditContext("")  # set by the middleware once it knows the caller

    @classmethod
    async def checkout(cls, engine: AsyncEngine) -> RequestDb:
        """A pooled connection; pool exhaustion raises SQLAlchemy's TimeoutError (a 503)."""
        return cls(engine, await engine.raw_connection())

    async def begin(self) -> None:
        self._transaction = self.conn.transaction()
        await self._transaction.start()

    async def atomic(self) -> None:
        """Make sure what follows runs in the request's transaction; a single-statement
        request that needs more opens it here, setting the audit context for its writes."""
        if self._transaction is None:
            await self.begin()
            context = self.context
            await self.conn.execute(
                SET_CONTEXT_SQL, context.request_id, context.user_id, context.role, context.site
            )

    async def commit(self) -> None:
        if self._transaction is None:
            return  # a single statement: PostgreSQL committed it when it ran
        if self._session is not None:
            await self._session.flush()
        await self._transaction.commit()
        self._transaction = None

    async def rollback(self) -> None:
        if self._transaction is not None and not self.conn.is_closed():
            await self._transaction.rollback()
        self._transaction = None

    async def session(self) -> AsyncSession:
        """The ORM session of this request, on the request's own connection and transaction."""
        await self.atomic()  # the ORM may write several statements: never outside a transaction
        if self._session is None:
            sync = await greenlet_spawn(Connection, self._engine.sync_engine, self._proxied)
            orm = await AsyncConnection(self._engine, sync).execution_options(
                isolation_level="AUTOCOMMIT"
            )
            self._orm = orm
            self._session = AsyncSession(bind=orm, expire_on_commit=False, autoflush=False)
            self._session.info.update(self.info)
            self.info = self._session.info  # one place for request flags (durability.py)
        return self._session

    async def close(self, *, broken: bool = False) -> None:
        """Back to the pool: rolled back if still open; a broken connection is discarded."""
        try:
            if not broken:
                await self.rollback()
        finally:
            if broken:
                self._proxied.invalidate()
            if self._session is not None:
                await self._session.close()
            if self._orm is not None:
                await self._orm.close()  # checks the pooled connection in
            else:
                self._proxied.close()
