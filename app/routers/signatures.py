"""Electronic signatures of a casebook (HTTP only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from app.auth import ParticipantReader, Signer
from app.deps import PageDep, SessionDep
from app.problems import error_responses
from app.schemas.signatures import SignatureIn, SignatureOut, SignaturesOut
from app.services import signatures as service
from app.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["data management"])


@router.post(
    "/participants/{participant_id}/signatures",
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 429),
)
async def sign_casebook(
    participant_id: uuid.UUID,
    data: SignatureIn,
    request: Request,
    session: SessionDep,
    principal: Signer,
) -> SignatureOut:
    """An investigator of the participant's site signs the casebook, entering the password
    again. A wrong password is 403 and counts toward the login lockout; while the username or
    address is locked out, 429 with Retry-After. Any later change to the participant's data
    marks the signature `invalidated`."""
    client = request.client.host if request.client else None
    return await service.sign(session, principal, participant_id, data, client, get_settings())


@router.get("/participants/{participant_id}/signatures", responses=error_responses(401, 403, 404))
async def list_signatures(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader, page: PageDep
) -> SignaturesOut:
    """The participant's signatures, oldest first, and the casebook's SHA-256 as it is now."""
    return await service.list_for(session, principal, participant_id, page.limit, page.offset)
