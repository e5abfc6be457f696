"""SMART Backend Services (HTTP only): the client-credentials token endpoint and the admin API
of integration clients."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Response
from fastapi.responses import JSONResponse

from app.auth import Admin
from app.deps import PageDep, SessionDep
from app.interop.smart import OAuthError
from app.problems import PROBLEM_JSON, error_responses, problem_body
from app.schemas.common import PageOut
from app.schemas.integration import (
    ClientDeactivateIn,
    ClientTokenOut,
    IntegrationClientIn,
    IntegrationClientOut,
)
from app.services import integration_clients as service
from app.services.versions import etag
from app.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["integration"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1; idempotency
OAUTH_ERROR: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "OAuth 2.0 error (RFC 6749 §5.2): the problem document also carries"
        " `error` (invalid_request, invalid_client, invalid_scope, unsupported_grant_type)"
        " and `error_description`",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}
Field = Annotated[str | None, Form()]


def _oauth_error(exc: OAuthError) -> JSONResponse:
    body: dict[str, Any] = problem_body(400, exc.description, slug="oauth-" + exc.error)
    body.update(error=exc.error, error_description=exc.description)
    return JSONResponse(body, status_code=400, media_type=PROBLEM_JSON, headers=NO_STORE)


@router.post(
    "/auth/client-token",
    operation_id="requestClientToken",
    response_model=ClientTokenOut,
    responses={**OAUTH_ERROR, **error_responses(503)},
)
async def client_token(
    session: SessionDep,
    response: Response,
    grant_type: Field = None,
    client_assertion_type: Field = None,
    client_assertion: Field = None,
    scope: Field = None,
) -> Any:
    """SMART Backend Services: `grant_type=client_credentials` with a `private_key_jwt`
    assertion (RS384 or ES384, signed with a key of the client's registered JWKS; `iss` =
    `sub` = client_id, `aud` = this URL, `exp` at most 5 minutes ahead, a `jti` used once)
    buys a bearer token of at most 5 minutes with the granted `scope`
    (`system/*.rs`, `system/Observation.c`). Never stored for an Idempotency-Key replay."""
    form = {
        "grant_type": grant_type,
        "client_assertion_type": client_assertion_type,
        "client_assertion": client_assertion,
        "scope": scope,
    }
    settings = get_settings()
    try:
        token, granted = await service.issue_token(session, form, settings)
    except OAuthError as exc:
        return _oauth_error(exc)
    response.headers.update(NO_STORE)
    return ClientTokenOut(
        access_token=token, expires_in=settings.client_token_ttl_seconds, scope=" ".join(granted)
    )


@router.post(
    "/integration-clients",
    status_code=201,
    operation_id="createIntegrationClient",
    responses=error_responses(401, 403, 409),
)
async def create_client(
    data: IntegrationClientIn, session: SessionDep, principal: Admin, response: Response
) -> IntegrationClientOut:
    """Register a system (e.g. the hospital's lab feed) for client credentials: its public
    JWKS, its scopes, and the `integration` user (of one site) its tokens act as."""
    client = await service.register(session, principal, data)
    response.headers["Location"] = f"/api/v1/integration-clients/{client.id}"
    return service.client_out(await service.get(session, client.id), get_settings())


@router.get(
    "/integration-clients",
    operation_id="listIntegrationClients",
    responses=error_responses(401, 403),
)
async def list_clients(
    session: SessionDep, _: Admin, page: PageDep
) -> PageOut[IntegrationClientOut]:
    """Every registered client-credentials integration, newest first."""
    rows, total = await service.list_clients(session, page.limit, page.offset)
    items = [service.client_out(r, get_settings()) for r in rows]
    return PageOut[IntegrationClientOut](
        items=items, total=total, limit=page.limit, offset=page.offset
    )


@router.get(
    "/integration-clients/{client_id}",
    operation_id="getIntegrationClient",
    responses=error_responses(401, 403, 404),
)
async def get_client(
    client_id: uuid.UUID, session: SessionDep, _: Admin, response: Response
) -> IntegrationClientOut:
    """One integration client with its JWKS, scopes and integration user."""
    row = await service.get(session, client_id)
    response.headers["ETag"] = etag(row[0].version)
    return service.client_out(row, get_settings())


@router.post(
    "/integration-clients/{client_id}/deactivate",
    operation_id="deactivateIntegrationClient",
    responses=error_responses(401, 403, 404, 409),
)
async def deactivate_client(
    client_id: uuid.UUID, data: ClientDeactivateIn, session: SessionDep, _: Admin
) -> IntegrationClientOut:
    """No more tokens for the client; its live tokens are revoked at once (audited)."""
    return service.client_out(
        await service.deactivate(session, client_id, data.reason), get_settings()
    )
