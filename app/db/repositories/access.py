"""Sites, users and tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApiToken, Site, User


async def site_by_code(session: AsyncSession, code: str) -> Site | None:
    return await session.scalar(select(Site).where(Site.code == code))


async def site_by_id(session: AsyncSession, site_id: uuid.UUID) -> Site | None:
    return await session.get(Site, site_id)


async def list_sites(session: AsyncSession, limit: int, offset: int) -> tuple[list[Site], int]:
    total = await session.scalar(select(func.count()).select_from(Site)) or 0
    rows = await session.scalars(select(Site).order_by(Site.code).limit(limit).offset(offset))
    return list(rows), total


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def list_users(
    session: AsyncSession, limit: int, offset: int
) -> tuple[list[tuple[User, str | None]], int]:
    total = await session.scalar(select(func.count()).select_from(User)) or 0
    rows = await session.execute(
        select(User, Site.code)
        .outerjoin(Site, Site.id == User.site_id)
        .order_by(User.username)
        .limit(limit)
        .offset(offset)
    )
    return [(u, code) for u, code in rows], total


async def any_admin(session: AsyncSession) -> bool:
    return (await session.scalar(select(User.id).where(User.role == "admin").limit(1))) is not None


async def add_token(
    session: AsyncSession, user_id: uuid.UUID, digest: bytes, name: str | None, expires: datetime
) -> ApiToken:
    token = ApiToken(user_id=user_id, token_hash=digest, name=name, expires_at=expires)
    session.add(token)
    await session.flush()
    return token
