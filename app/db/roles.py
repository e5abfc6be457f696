"""Entering the app role: every request, login and health check runs as DB_APP_ROLE.

The service's connections start in the role (app/db/engine.py); each transaction also enters
it, which is what counts behind PgBouncer, where the startup parameter is not used.

The switch is transaction-local (`set_config('role', ..., true)` is `SET LOCAL ROLE`), so it
ends with the transaction and is safe behind PgBouncer in transaction mode. It works whether
the service connects as the owner (development, tests), as a login role that is a member of
the app role, or as the app role itself (production; see docs/deployment.md).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

ENTER_APP_ROLE = "set_config('role', :app_role, true)"


async def enter_app_role(db: AsyncSession | AsyncConnection, app_role: str) -> None:
    await db.execute(text(f"SELECT {ENTER_APP_ROLE}"), {"app_role": app_role})


async def check_app_role(engine: AsyncEngine, app_role: str) -> None:
    """At start: the app role exists and this login may enter it (else every request would
    fail), so a misconfiguration stops the service with a clear message instead."""
    async with engine.connect() as conn:
        usable = await conn.scalar(
            text(
                "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = :r"
            ),
            {"r": app_role},
        )
    if not usable:
        raise RuntimeError(
            f"DB_APP_ROLE {app_role!r} does not exist or the connecting role may not enter it:"
            " run the migrations as the owner, or grant the role (docs/deployment.md §3a)"
        )
