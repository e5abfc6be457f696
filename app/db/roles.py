"""Entering the app role: every request, login and health check runs as DB_APP_ROLE.

The switch is transaction-local (`set_config('role', ..., true)` is `SET LOCAL ROLE`), so it
ends with the transaction and is safe behind PgBouncer in transaction mode. It works whether
the service connects as the owner (development, tests), as a login role that is a member of
the app role, or as the app role itself (production; see docs/deployment.md).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

ENTER_APP_ROLE = "set_config('role', :app_role, true)"


async def enter_app_role(db: AsyncSession | AsyncConnection, app_role: str) -> None:
    await db.execute(text(f"SELECT {ENTER_APP_ROLE}"), {"app_role": app_role})
