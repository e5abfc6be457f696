"""Readiness, checked as requests run: as the app role."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.migrate import at_head_as


async def database_ready(engine: AsyncEngine, app_role: str) -> bool | None:
    """True: reachable and migrated; False: reachable, migrations not at head; None:
    unreachable (or the app role cannot read the schema version)."""
    try:
        return await at_head_as(engine, app_role)
    except Exception:  # any failure to reach the database means "not ready"
        return None
