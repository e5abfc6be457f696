"""Source data verification (HTTP only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.auth import ParticipantReader, SdvMarker
from app.deps import PageDep, SessionDep
from app.problems import error_responses
from app.schemas.sdv import SdvIn, SdvOut, SdvRecordOut
from app.services import sdv as service

router = APIRouter(prefix="/api/v1", tags=["data management"])


@router.post(
    "/participants/{participant_id}/sdv",
    status_code=201,
    responses=error_responses(401, 403, 404, 409),
)
async def verify_record(
    participant_id: uuid.UUID, data: SdvIn, session: SessionDep, principal: SdvMarker
) -> SdvRecordOut:
    """A monitor marks one record as verified against its source (who, when). A later change
    to the record clears the mark. 409 when it is verified already."""
    return await service.verify(session, principal, participant_id, data)


@router.get("/participants/{participant_id}/sdv", responses=error_responses(401, 403, 404))
async def sdv_status(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader, page: PageDep
) -> SdvOut:
    """The participant's live records with their verification, and the progress."""
    return await service.status(session, principal, participant_id, page.limit, page.offset)
