"""Sites, users, tokens, the OAuth2 password login and logout (HTTP only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import Admin, AnyUser
from app.deps import IfMatchDep, PageDep, SessionDep
from app.problems import error_responses
from app.schemas.access import (
    AccessTokenOut,
    SiteIn,
    SiteOut,
    SitePatch,
    TokenIn,
    TokenInfoOut,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from app.schemas.common import PageOut
from app.services import access
from app.services.login import password_login
from app.services.versions import etag
from app.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["access"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1; see idempotency


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/auth/token", responses=error_responses(401, 429))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    request: Request,
    response: Response,
) -> AccessTokenOut:
    """OAuth2 password grant: a username and password buy a short-lived bearer token.

    After 5 failed logins for a username within 15 minutes (20 from one client address),
    every attempt answers 429 with Retry-After until the lockout ends, right password or not.
    A user holds at most 5 live login tokens: a sixth login revokes the oldest.
    """
    token, plaintext = await password_login(
        session, form.username, form.password, _client(request), get_settings()
    )
    response.headers.update(NO_STORE)
    return AccessTokenOut(
        access_token=plaintext,
        expires_at=token.expires_at,
        expires_in=round((token.expires_at - datetime.now(UTC)).total_seconds()),
        id=token.id,
    )


@router.post("/auth/logout", status_code=204, responses=error_responses(401))
async def logout(session: SessionDep, principal: AnyUser) -> Response:
    """Revoke the bearer token of this request (the user's other tokens stay valid)."""
    await access.logout(session, principal)
    return Response(status_code=204)


@router.post("/sites", status_code=201, responses=error_responses(401, 403, 409))
async def create_site(data: SiteIn, session: SessionDep, _: Admin) -> SiteOut:
    """Create a site (code and name); 409 when the code is taken."""
    return SiteOut.model_validate(await access.create_site(session, data))


@router.get("/sites/{site_code}", responses=error_responses(401, 403, 404))
async def get_site(site_code: str, session: SessionDep, _: AnyUser, response: Response) -> SiteOut:
    """One site, with its ETag (for PATCH)."""
    site = await access.get_site(session, site_code)
    response.headers["ETag"] = etag(site.version)
    return SiteOut.model_validate(site)


@router.patch("/sites/{site_code}", responses=error_responses(401, 403, 404, 412, 428))
async def update_site(
    site_code: str,
    data: SitePatch,
    _: Admin,
    if_match: IfMatchDep,
    session: SessionDep,
    response: Response,
) -> SiteOut:
    """Set the site's MRN identifier system: If-Match with the site's ETag, and a reason."""
    site = await access.update_site(session, site_code, data, if_match)
    response.headers["ETag"] = etag(site.version)
    return SiteOut.model_validate(site)


@router.get("/sites", responses=error_responses(401, 403))
async def list_sites(session: SessionDep, _: AnyUser, page: PageDep) -> PageOut[SiteOut]:
    """Every site, by code."""
    sites, total = await access.list_sites(session, page.limit, page.offset)
    return PageOut[SiteOut](
        items=[SiteOut.model_validate(s) for s in sites],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/users", status_code=201, responses=error_responses(401, 403, 409))
async def create_user(data: UserIn, session: SessionDep, _: Admin) -> UserOut:
    """Create a user with a role (site-bound roles need `site_code`); 409 when the
    username is taken."""
    user, site_code = await access.create_user(session, data)
    return access.user_out(user, site_code)


@router.get("/users", responses=error_responses(401, 403))
async def list_users(session: SessionDep, _: Admin, page: PageDep) -> PageOut[UserOut]:
    """Every user with role and site."""
    rows, total = await access.list_users(session, page.limit, page.offset)
    items = [access.user_out(u, code) for u, code in rows]
    return PageOut[UserOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/users/{user_id}", responses=error_responses(401, 403, 404))
async def get_user(
    user_id: uuid.UUID, session: SessionDep, _: Admin, response: Response
) -> UserOut:
    """One user with role, site and active flag."""
    user, site_code = await access.get_user(session, user_id)
    response.headers["ETag"] = etag(user.version)
    return access.user_out(user, site_code)


@router.patch("/users/{user_id}", responses=error_responses(401, 403, 404, 409, 412, 428))
async def update_user(
    user_id: uuid.UUID,
    data: UserPatch,
    _: Admin,
    if_match: IfMatchDep,
    session: SessionDep,
    response: Response,
) -> UserOut:
    """Deactivate (`active: false`) or reset the password: either revokes every token of the
    user at once. If-Match with the user's ETag, and a reason (audited)."""
    user, site_code = await access.update_user(session, user_id, data, if_match)
    response.headers["ETag"] = etag(user.version)
    return access.user_out(user, site_code)


@router.get("/users/{user_id}/tokens", responses=error_responses(401, 403, 404))
async def list_tokens(
    user_id: uuid.UUID, session: SessionDep, _: Admin, page: PageDep
) -> PageOut[TokenInfoOut]:
    """The user's tokens, newest first: metadata only, never a secret or its hash."""
    tokens, total = await access.list_tokens(session, user_id, page.limit, page.offset)
    items = [TokenInfoOut.model_validate(t) for t in tokens]
    return PageOut[TokenInfoOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/users/{user_id}/tokens", status_code=201, responses=error_responses(401, 403, 404, 409)
)
async def create_token(
    user_id: uuid.UUID,
    session: SessionDep,
    _: Admin,
    response: Response,
    data: TokenIn | None = None,
) -> TokenOut:
    """A new API token for the user (integrations use these); the secret is shown once.

    The response is never stored for an Idempotency-Key replay: a repeated key answers 409.
    """
    token, plaintext = await access.issue_token(session, user_id, data or TokenIn(), get_settings())
    response.headers.update(NO_STORE)
    return TokenOut(id=token.id, token=plaintext, name=token.name, expires_at=token.expires_at)


@router.post("/tokens/{token_id}/revoke", responses=error_responses(401, 403, 404, 409))
async def revoke_token(token_id: uuid.UUID, session: SessionDep, _: Admin) -> dict[str, str]:
    """Revoke an API token at once (the row stays, marked revoked; audited)."""
    token = await access.revoke_token(session, token_id)
    return {
        "id": str(token.id),
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else "",
    }
