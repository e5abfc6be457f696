"""Outcomes (HTTP only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.auth import OutcomeWriter, ParticipantReader
from app.deps import PageDep, SessionDep, page_of
from app.problems import error_responses
from app.schemas.common import PageOut
from app.schemas.outcomes import OutcomeIn, OutcomeOut
from app.services import outcomes as service

router = APIRouter(prefix="/api/v1", tags=["outcomes"])


@router.post(
    "/participants/{participant_id}/outcomes",
    status_code=201,
    responses=error_responses(401, 403, 404, 409),
)
async def record_outcome(
    participant_id: uuid.UUID,
    data: OutcomeIn,
    session: SessionDep,
    principal: OutcomeWriter,
    response: Response,
) -> OutcomeOut:
    """Record death, liver transplant, treatment abandonment, withdrawal or loss to follow-up.

    Moves the participant to the terminal status. 409 unless the participant is randomized
    (a death may still follow a transplant, abandonment, withdrawal or loss to follow-up);
    422 (`date`) for a date before Day 1, in the future, or a death before any record that
    shows the participant alive (visit, dose, adverse event, earlier outcome).
    """
    outcome, participant, allocation = await service.record(
        session, principal, participant_id, data
    )
    response.headers["Location"] = f"/api/v1/participants/{participant.id}/outcomes"
    return service.outcome_out(outcome, participant, allocation.day1)


@router.get("/participants/{participant_id}/outcomes", responses=error_responses(401, 403, 404))
async def list_outcomes(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader, page: PageDep
) -> PageOut[OutcomeOut]:
    """The participant's recorded outcomes, oldest first (`status` is the current status)."""
    outcomes, participant, allocation = await service.list_for(session, principal, participant_id)
    if allocation is None:
        return page_of([], page)
    return page_of([service.outcome_out(o, participant, allocation.day1) for o in outcomes], page)
