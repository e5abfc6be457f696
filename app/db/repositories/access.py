"""Sites, users and tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApiToken, Site, User

ADMIN_CHANGE_LOCK = 7_245_000_005  # serializes changes that could leave no active admin


async def site_by_code(session: AsyncSession, code: str) -> Site | None:
    return await session.scalar(select(Site).where(Site.code == code))


async def site_for_update(session: AsyncSession, code: str) -> Site | None:
    return await session.scalar(
        select(Site)
        .where(Site.code == code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


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


async def user_for_update(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """Row lock: changes to one account (and its login tokens) happen one at a time."""
    return await session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def user_with_site(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[User, str | None] | None:
    row = (
        await session.execute(
            select(User, Site.code)
            .outerjoin(Site, Site.id == User.site_id)
            .where(User.id == user_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


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


async def other_active_admins(session: AsyncSession, user_id: uuid.UUID) -> int:
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADMIN_CHANGE_LOCK})
    return int(
        await session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.active, User.id != user_id)
        )
        or 0
    )


async def add_token(
    session: AsyncSession,
    user_id: uuid.UUID,
    digest: bytes,
    name: str | None,
    expires: datetime,
    kind: str = "api",
) -> ApiToken:
    token = ApiToken(user_id=user_id, token_hash=digest, name=name, expires_at=expires, kind=kind)
    session.add(token)
    await session.flush()
    return token


async def tokens_of(
    session: AsyncSession, user_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[ApiToken], int]:
    where = ApiToken.user_id == user_id
    total = await session.scalar(select(func.count()).select_from(ApiToken).where(where)) or 0
    rows = await session.scalars(
        select(ApiToken)
        .where(where)
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


async def revoke_tokens(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Revoke every live token of the user at once (each revocation is audited)."""
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def revoke_token(session: AsyncSession, token_id: uuid.UUID) -> bool:
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def keep_newest_login_tokens(session: AsyncSession, user_id: uuid.UUID, keep: int) -> None:
    """Revoke the user's live login tokens beyond the `keep` newest (oldest first)."""
    surplus = (
        select(ApiToken.id)
        .where(
            ApiToken.user_id == user_id,
            ApiToken.kind == "login",
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > func.now(),
        )
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
        .offset(keep)
    )
    await session.execute(
        update(ApiToken)
        .where(ApiToken.id.in_(surplus.scalar_subquery()))
        .values(revoked_at=func.now())
        .execution_options(synchronize_session=False)
    )
