"""Sites, users and their tokens: creation, the account lifecycle, logout."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import SITE_BOUND_ROLES, Principal
from app.db.audit_context import set_reason
from app.db.models import ApiToken, Site, User
from app.db.repositories import access as repo
from app.db.repositories import login_throttle as throttle
from app.domain.errors import InvalidData, NotFound, StateConflict
from app.schemas.access import SiteIn, SitePatch, TokenIn, UserIn, UserOut, UserPatch
from app.security import hash_password, new_token, token_digest
from app.services.login import username_key
from app.services.versions import check_version
from app.settings import Settings


def user_out(user: User, site_code: str | None) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        role=user.role,
        site_code=site_code,
        active=user.active,
        password_set=user.password_hash is not None,
        full_name=user.full_name,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


async def create_site(session: AsyncSession, data: SiteIn) -> Site:
    if await repo.site_by_code(session, data.code):
        raise StateConflict(f"Site '{data.code}' already exists")
    site = Site(code=data.code, name=data.name, timezone=data.timezone, mrn_system=data.mrn_system)
    session.add(site)
    await session.flush()
    return site


async def get_site(session: AsyncSession, code: str) -> Site:
    site = await repo.site_by_code(session, code)
    if site is None:
        raise NotFound("No such site")
    return site


async def update_site(
    session: AsyncSession, code: str, data: SitePatch, expected_version: int
) -> Site:
    """The site's MRN system (stored MRNs keep working: their hash is keyed by the site)."""
    site = await repo.site_for_update(session, code)
    if site is None:
        raise NotFound("No such site")
    check_version(expected_version, site.version)
    await set_reason(session, data.reason)
    site.mrn_system = data.mrn_system
    site.updated_at = clock.utc_now()
    await session.flush()
    return site


async def list_sites(session: AsyncSession, limit: int, offset: int) -> tuple[list[Site], int]:
    return await repo.list_sites(session, limit, offset)


async def create_user(session: AsyncSession, data: UserIn) -> tuple[User, str | None]:
    site_id: uuid.UUID | None = None
    if data.role in SITE_BOUND_ROLES:
        if data.site_code is None:
            raise InvalidData.one("site_code", f"role '{data.role}' belongs to one site")
        site = await repo.site_by_code(session, data.site_code)
        if site is None:
            raise InvalidData.one("site_code", f"no site '{data.site_code}'")
        site_id = site.id
    elif data.site_code is not None:
        raise InvalidData.one("site_code", f"role '{data.role}' is global; site_code must be null")
    if await repo.user_by_username(session, data.username):
        raise StateConflict(f"User '{data.username}' already exists")
    user = User(
        username=data.username,
        role=data.role,
        site_id=site_id,
        password_hash=await hash_password(data.password) if data.password else None,
        full_name=data.full_name,
    )
    session.add(user)
    await session.flush()
    return user, data.site_code if site_id else None


async def list_users(
    session: AsyncSession, limit: int, offset: int
) -> tuple[list[tuple[User, str | None]], int]:
    return await repo.list_users(session, limit, offset)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> tuple[User, str | None]:
    found = await repo.user_with_site(session, user_id)
    if found is None:
        raise NotFound("No such user")
    return found


async def update_user(
    session: AsyncSession, user_id: uuid.UUID, data: UserPatch, expected_version: int
) -> tuple[User, str | None]:
    """Deactivate/reactivate or reset the password; both deactivation and a reset revoke
    every token of the user at once (audited, with the reason)."""
    user = await repo.user_for_update(session, user_id)
    if user is None:
        raise NotFound("No such user")
    check_version(expected_version, user.version)
    changes = data.model_dump(exclude_unset=True, exclude_none=True, exclude={"reason"})
    if not changes:
        raise InvalidData.one("body", "nothing to change")
    await set_reason(session, data.reason)
    revoke = False
    if changes.get("active") is False and user.active:
        if user.role == "admin" and await repo.other_active_admins(session, user.id) == 0:
            raise StateConflict("The last active admin cannot be deactivated")
        revoke = True
    if "active" in changes:
        user.active = changes["active"]
    if "full_name" in changes:
        user.full_name = changes["full_name"]
    if "password" in changes:
        user.password_hash = await hash_password(changes["password"])
        await throttle.clear(session, username_key(user.username))
        revoke = True
    user.updated_at = clock.utc_now()
    await session.flush()
    if revoke:
        await repo.revoke_tokens(session, user.id)
    return await get_user(session, user.id)


async def issue_token(
    session: AsyncSession, user_id: uuid.UUID, data: TokenIn, settings: Settings
) -> tuple[ApiToken, str]:
    """An API token for an integration (the secret is returned once, never stored)."""
    user = await repo.user_by_id(session, user_id)
    if user is None:
        raise NotFound("No such user")
    if not user.active:
        raise StateConflict("The user is deactivated")
    plaintext = new_token()
    days = data.expires_in_days or settings.token_ttl_days
    expires = datetime.now(UTC) + timedelta(days=days)
    token = await repo.add_token(session, user.id, token_digest(plaintext), data.name, expires)
    return token, plaintext


async def list_tokens(
    session: AsyncSession, user_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[ApiToken], int]:
    if await repo.user_by_id(session, user_id) is None:
        raise NotFound("No such user")
    return await repo.tokens_of(session, user_id, limit, offset)


def visible_site_filter(principal: Principal) -> uuid.UUID | None:
    return principal.site_id if principal.site_bound else None


async def revoke_token(session: AsyncSession, token_id: uuid.UUID) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("No such token")
    if token.revoked_at is not None:
        raise StateConflict("The token is already revoked")
    await set_reason(session, "token revoked by an admin")
    token.revoked_at = datetime.now(UTC)
    await session.flush()
    return token


async def logout(session: AsyncSession, principal: Principal) -> None:
    """Revoke the token this request came with (the other tokens of the user stay valid)."""
    assert principal.token_id is not None
    await set_reason(session, "logout")
    await repo.revoke_token(session, principal.token_id)
