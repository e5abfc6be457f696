"""SMART Backend Services (SPEC §10.4): integration clients and client-credentials tokens.

An admin registers a client for an `integration` user (and so one site) with its public JWKS
and the scopes it may be granted. The client then POSTs a signed assertion to
/api/v1/auth/client-token and gets a bearer token of at most 5 minutes, stored like every
other token (SHA-256 in `api_tokens`, kind `client`, with its scopes), so the one
authentication query serves it; the FHIR routes check its scopes. A `jti` is accepted once
while its assertion lives, across every worker (PostgreSQL primary key).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_actor, set_reason
from app.db.models import IntegrationClient
from app.db.repositories import access as access_repo
from app.db.repositories import integration as repo
from app.domain.errors import InvalidData, NotFound, StateConflict
from app.interop import smart
from app.interop.fhir.capability import TOKEN_PATH
from app.problems import ProblemError
from app.schemas.integration import IntegrationClientIn, IntegrationClientOut
from app.security import new_token, token_digest
from app.settings import Settings


def token_url(settings: Settings) -> str:
    """The assertions' audience. Taken from PUBLIC_BASE_URL, never from the request's Host
    header (which would let an assertion made for another server be replayed here)."""
    if not settings.public_base_url:
        raise ProblemError(
            503, "Client credentials are not configured: set PUBLIC_BASE_URL (docs/fhir.md)"
        )
    return settings.public_base_url + TOKEN_PATH


def client_out(row: Any, settings: Settings) -> IntegrationClientOut:
    client: IntegrationClient = row[0]
    return IntegrationClientOut(
        id=client.id,
        client_id=str(client.id),
        name=client.name,
        user_id=client.user_id,
        username=row.username,
        site_code=row.code,
        scopes=list(client.scopes),
        jwks=client.jwks,
        active=client.active,
        token_endpoint=(settings.public_base_url or "") + TOKEN_PATH,
        created_at=client.created_at,
        version=client.version,
        deactivated_at=client.deactivated_at,
        deactivation_reason=client.deactivation_reason,
    )


async def register(
    session: AsyncSession, principal: Principal, data: IntegrationClientIn
) -> IntegrationClient:
    user = await access_repo.user_by_id(session, data.user_id)
    if user is None or user.role != "integration":
        raise InvalidData.one("user_id", "must be a user with role integration")
    if not user.active:
        raise StateConflict("The integration user is deactivated")
    try:
        jwks = smart.public_jwks(data.jwks)
    except ValueError as exc:
        raise InvalidData.one("jwks", str(exc)) from None
    client = IntegrationClient(
        name=data.name,
        user_id=user.id,
        jwks=jwks,
        scopes=sorted(set(data.scopes)),
        created_by=principal.user_id,
    )
    session.add(client)
    await session.flush()
    return client


async def get(session: AsyncSession, client_id: uuid.UUID) -> Any:
    row = await repo.client(session, client_id)
    if row is None:
        raise NotFound("No such integration client")
    return row


async def list_clients(session: AsyncSession, limit: int, offset: int) -> tuple[list[Any], int]:
    return await repo.clients(session, limit, offset)


async def deactivate(session: AsyncSession, client_id: uuid.UUID, reason: str) -> Any:
    """The client gets no more tokens, and those it holds are revoked (audited)."""
    client = await repo.client_for_update(session, client_id)
    if client is None:
        raise NotFound("No such integration client")
    if not client.active:
        raise StateConflict("The client is already deactivated")
    await set_reason(session, reason)
    now = clock.utc_now()
    client.active, client.deactivated_at, client.deactivation_reason = False, now, reason
    client.updated_at = now
    await session.flush()
    await repo.revoke_client_tokens(session, client.id)
    return await get(session, client.id)


async def issue_token(
    session: AsyncSession, form: dict[str, str | None], settings: Settings
) -> tuple[str, list[str]]:
    """(access token, granted scopes), or OAuthError: RFC 6749 §5.2 / SMART."""
    audience = token_url(settings)
    if form.get("grant_type") != "client_credentials":
        raise smart.OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
    assertion = form.get("client_assertion") or ""
    if form.get("client_assertion_type") != smart.ASSERTION_TYPE or not assertion:
        raise smart.OAuthError(
            "invalid_request",
            f"client_assertion_type {smart.ASSERTION_TYPE} and a client_assertion are required",
        )
    if not form.get("scope"):
        raise smart.OAuthError("invalid_scope", "scope is required")
    row = await _client_of(session, smart.unverified_issuer(assertion))
    client: IntegrationClient = row[0]
    now = int(time.time())
    claims = smart.verify_assertion(assertion, str(client.id), client.jwks, audience, now)
    granted = smart.grant(form["scope"] or "", client.scopes)
    if not await repo.use_jti(session, client.id, claims.jti, claims.exp):
        raise smart.OAuthError("invalid_client", "this jti was already used")
    await set_actor(session, user_id=str(client.user_id), role="integration", site=row.code)
    await set_reason(session, f"client credentials of integration client {client.id}")
    plaintext = new_token()
    expires = datetime.now(UTC) + timedelta(seconds=settings.client_token_ttl_seconds)
    await repo.add_client_token(session, client, token_digest(plaintext), granted, expires)
    return plaintext, granted


async def _client_of(session: AsyncSession, issuer: str) -> Any:
    try:
        client_id = uuid.UUID(issuer)
    except ValueError:
        raise smart.OAuthError("invalid_client", "unknown client") from None
    row = await repo.client(session, client_id)
    if row is None:
        raise smart.OAuthError("invalid_client", "unknown client")
    if not row[0].active or not row.active:
        raise smart.OAuthError("invalid_client", "the client or its user is deactivated")
    return row
