"""First start: TRIAL_BOOTSTRAP_ADMIN_TOKEN creates an admin whose token is that secret.

The token lives 24 hours: long enough to create the real admin accounts (with passwords),
short enough that a secret left in a deployment's environment soon stops working.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.audit_context import set_actor, set_reason
from app.db.models import User
from app.db.repositories import access
from app.db.roles import enter_app_role
from app.security import token_digest
from app.settings import Settings

log = logging.getLogger(__name__)
BOOTSTRAP_USERNAME = "bootstrap-admin"
BOOTSTRAP_LOCK_KEY = 7_245_000_003
BOOTSTRAP_TOKEN_LIFETIME = timedelta(hours=24)


async def bootstrap_admin(
    sessions: async_sessionmaker[AsyncSession], token: str, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        await enter_app_role(session, settings.db_app_role)
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": BOOTSTRAP_LOCK_KEY})
        if await access.any_admin(session):
            return
        await set_actor(session, user_id="system", role="system", site=None)
        await set_reason(session, "bootstrap: first admin from TRIAL_BOOTSTRAP_ADMIN_TOKEN")
        user = User(username=BOOTSTRAP_USERNAME, role="admin")
        session.add(user)
        await session.flush()
        expires = datetime.now(UTC) + BOOTSTRAP_TOKEN_LIFETIME
        await access.add_token(
            session, user.id, token_digest(token), "bootstrap", expires, kind="bootstrap"
        )
        log.info("created the bootstrap admin user %r (token valid 24 h)", BOOTSTRAP_USERNAME)
