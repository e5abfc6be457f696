"""Integration clients, the assertion ids they used, and their tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApiToken, IntegrationClient, Site, User


async def client(session: AsyncSession, client_id: uuid.UUID) -> Any:
    """(client, username, user active, site code), or None."""
    return (
        await session.execute(
            select(IntegrationClient, User.username, User.active, Site.code)
            .join(User, User.id == IntegrationClient.user_id)
            .outerjoin(Site, Site.id == User.site_id)
            .where(IntegrationClient.id == client_id)
        )
    ).first()


async def clients(session: AsyncSession, limit: int, offset: int) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(IntegrationClient)) or 0
    rows = await session.execute(
        select(IntegrationClient, User.username, User.active, Site.code)
        .join(User, User.id == IntegrationClient.user_id)
        .outerjoin(Site, Site.id == User.site_id)
        .order_by(IntegrationClient.created_at, IntegrationClient.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


async def client_for_update(
    session: AsyncSession, client_id: uuid.UUID
) -> IntegrationClient | None:
    return await session.scalar(
        select(IntegrationClient)
        .where(IntegrationClient.id == client_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


JTI_ONCE = text(
    "INSERT INTO client_assertion_jtis (client_id, jti, expires_at)"
    " VALUES (:c, :j, to_timestamp(:exp))"
    " ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at"
    " WHERE client_assertion_jtis.expires_at < now()"
    " RETURNING jti"
)


async def use_jti(session: AsyncSession, client_id: uuid.UUID, jti: str, exp: int) -> bool:
    """True the first time (client, jti) is seen while live, across every worker: the
    primary key decides; a row whose assertion expired is reused (the app role cannot
    DELETE)."""
    row = await session.execute(JTI_ONCE, {"c": client_id, "j": jti, "exp": exp})
    return row.first() is not None


async def add_client_token(
    session: AsyncSession,
    client: IntegrationClient,
    digest: bytes,
    scopes: list[str],
    expires: datetime,
) -> ApiToken:
    token = ApiToken(
        user_id=client.user_id,
        token_hash=digest,
        name=f"client credentials: {client.name}"[:100],
        expires_at=expires,
        kind="client",
        scopes=scopes,
        integration_client_id=client.id,
    )
    session.add(token)
    await session.flush()
    return token


async def revoke_client_tokens(session: AsyncSession, client_id: uuid.UUID) -> None:
    await session.execute(
        update(ApiToken)
        .where(ApiToken.integration_client_id == client_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .execution_options(synchronize_session=False)
    )
