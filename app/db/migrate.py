"""Run Alembic migrations from the app (at start) under a cluster-wide advisory lock."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.roles import enter_app_role

ROOT = Path(__file__).resolve().parents[2]
MIGRATION_LOCK_KEY = 7_245_000_002


def alembic_config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "app" / "db" / "migrations"))
    return cfg


def _upgrade(connection: Connection, app_role: str | None) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    if app_role is not None:
        cfg.attributes["app_role"] = app_role  # read by migration 0006 (else DB_APP_ROLE)
    command.upgrade(cfg, "head")


async def upgrade_to_head(engine: AsyncEngine, app_role: str | None = None) -> None:
    """Several workers may start at once: the advisory lock lets one migrate at a time.
    Migrations run as the connecting (owner) role, never as the app role."""
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        await conn.run_sync(_upgrade, app_role)


def _at_head(connection: Connection) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads


async def migrations_at_head(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return await conn.run_sync(_at_head)


async def at_head_as(engine: AsyncEngine, app_role: str) -> bool:
    """Readiness, checked the way requests run: as the app role (it may read alembic_version)."""
    async with engine.connect() as conn, conn.begin():
        await enter_app_role(conn, app_role)
        return await conn.run_sync(_at_head)
