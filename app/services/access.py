"""Sites, users, tokens and password login."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import SITE_BOUND_ROLES, Principal
from app.db.audit_context import set_actor
from app.db.models import ApiToken, Site, User
from app.db.repositories import access
from app.domain.errors import InvalidData, NotFound, StateConflict
from app.problems import ProblemError
from app.schemas.access import SiteIn, TokenIn, UserIn
from app.security import hash_password, new_token, token_digest, verify_password
from app.settings import Settings


async def create_site(session: AsyncSession, data: SiteIn) -> Site:
    if await access.site_by_code(session, data.code):
        raise StateConflict(f"Site '{data.code}' already exists")
    site = Site(code=data.code, name=data.name, timezone=data.timezone)
    session.add(site)
    await session.flush()
    return site


async def create_user(session: AsyncSession, data: UserIn) -> tuple[User, str | None]:
    site_id: uuid.UUID | None = None
    if data.role in SITE_BOUND_ROLES:
        if data.site_code is None:
            raise InvalidData.one("site_code", f"role '{data.role}' belongs to one site")
        site = await access.site_by_code(session, data.site_code)
        if site is None:
            raise InvalidData.one("site_code", f"no site '{data.site_code}'")
        site_id = site.id
    elif data.site_code is not None:
        raise InvalidData.one("site_code", f"role '{data.role}' is global; site_code must be null")
    if await access.user_by_username(session, data.username):
        raise StateConflict(f"User '{data.username}' already exists")
    user = User(
        username=data.username,
        role=data.role,
        site_id=site_id,
        password_hash=hash_password(data.password) if data.password else None,
    )
    session.add(user)
    await session.flush()
    return user, data.site_code if site_id else None


async def issue_token(
    session: AsyncSession, user_id: uuid.UUID, data: TokenIn, settings: Settings
) -> tuple[ApiToken, str]:
    user = await access.user_by_id(session, user_id)
    if user is None:
        raise NotFound("No such user")
    if not user.active:
        raise StateConflict("The user is deactivated")
    plaintext = new_token()
    days = data.expires_in_days or settings.token_ttl_days
    expires = datetime.now(UTC) + timedelta(days=days)
    token = await access.add_token(session, user.id, token_digest(plaintext), data.name, expires)
    return token, plaintext


async def password_login(
    session: AsyncSession, username: str, password: str, settings: Settings
) -> tuple[str, datetime]:
    user = await access.user_by_username(session, username)
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise ProblemError(
            401, "Unknown user or wrong password", headers={"WWW-Authenticate": "Bearer"}
        )
    site = await access.site_by_id(session, user.site_id) if user.site_id else None
    await set_actor(session, user_id=str(user.id), role=user.role, site=site.code if site else None)
    token, plaintext = await issue_token(session, user.id, TokenIn(name="password login"), settings)
    return plaintext, token.expires_at


def visible_site_filter(principal: Principal) -> uuid.UUID | None:
    return principal.site_id if principal.site_bound else None


async def revoke_token(session: AsyncSession, token_id: uuid.UUID) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("No such token")
    if token.revoked_at is not None:
        raise StateConflict("The token is already revoked")
    token.revoked_at = datetime.now(UTC)
    await session.flush()
    return token
