"""First start: TRIAL_BOOTSTRAP_ADMIN_TOKEN creates an admin whose token is that secret."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.audit_context import set_actor, set_reason
from app.db.models import User
from app.db.repositories import access
from app.security import token_digest
from app.settings import Settings

log = logging.getLogger(__name__)
BOOTSTRAP_USERNAME = "bootstrap-admin"
BOOTSTRAP_LOCK_KEY = 7_245_000_003


async def bootstrap_admin(
    sessions: async_sessionmaker[AsyncSession], token: str, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": BOOTSTRAP_LOCK_KEY})
        if await access.any_admin(session):
            return
        await set_actor(session, user_id="system", role="system", site=None)
        await set_reason(session, "bootstrap: first admin from TRIAL_BOOTSTRAP_ADMIN_TOKEN")
        user = User(username=BOOTSTRAP_USERNAME, role="admin")
        session.add(user)
        await session.flush()
        expires = datetime.now(UTC) + timedelta(days=settings.token_ttl_days)
        await access.add_token(session, user.id, token_digest(token), "bootstrap", expires)
        log.info("created the bootstrap admin user %r", BOOTSTRAP_USERNAME)
