"""Sites, users, tokens and the OAuth2 password login."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import Admin, AnyUser
from app.db.repositories import access as repo
from app.deps import PageDep, SessionDep
from app.problems import error_responses
from app.schemas.access import (
    AccessTokenOut,
    SiteIn,
    SiteOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from app.schemas.common import PageOut
from app.services import access
from app.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["access"])


@router.post("/auth/token", responses=error_responses(401))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep
) -> AccessTokenOut:
    """OAuth2 password grant: a username and password buy a bearer token."""
    token, expires = await access.password_login(
        session, form.username, form.password, get_settings()
    )
    return AccessTokenOut(access_token=token, expires_at=expires)


@router.post("/sites", status_code=201, responses=error_responses(401, 403, 409))
async def create_site(data: SiteIn, session: SessionDep, _: Admin) -> SiteOut:
    return SiteOut.model_validate(await access.create_site(session, data))


@router.get("/sites", responses=error_responses(401, 403))
async def list_sites(session: SessionDep, _: AnyUser, page: PageDep) -> PageOut[SiteOut]:
    sites, total = await repo.list_sites(session, page.limit, page.offset)
    return PageOut[SiteOut](
        items=[SiteOut.model_validate(s) for s in sites],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/users", status_code=201, responses=error_responses(401, 403, 409))
async def create_user(data: UserIn, session: SessionDep, _: Admin) -> UserOut:
    user, site_code = await access.create_user(session, data)
    return UserOut(
        id=user.id, username=user.username, role=user.role, site_code=site_code, active=True
    )


@router.get("/users", responses=error_responses(401, 403))
async def list_users(session: SessionDep, _: Admin, page: PageDep) -> PageOut[UserOut]:
    rows, total = await repo.list_users(session, page.limit, page.offset)
    items = [
        UserOut(id=u.id, username=u.username, role=u.role, site_code=code, active=u.active)
        for u, code in rows
    ]
    return PageOut[UserOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/users/{user_id}/tokens", status_code=201, responses=error_responses(401, 403, 404, 409)
)
async def create_token(
    user_id: uuid.UUID, session: SessionDep, _: Admin, data: TokenIn | None = None
) -> TokenOut:
    """A new API token for the user (integrations use these); the secret is shown once."""
    token, plaintext = await access.issue_token(session, user_id, data or TokenIn(), get_settings())
    return TokenOut(id=token.id, token=plaintext, name=token.name, expires_at=token.expires_at)


@router.post("/tokens/{token_id}/revoke", responses=error_responses(401, 403, 404, 409))
async def revoke_token(token_id: uuid.UUID, session: SessionDep, _: Admin) -> dict[str, str]:
    """Revoke an API token at once (the row stays, marked revoked; audited)."""
    token = await access.revoke_token(session, token_id)
    return {
        "id": str(token.id),
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else "",
    }
