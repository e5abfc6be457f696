"""Participants, screening and consent (HTTP only: parse, authorize, call, shape)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from app.auth import ClinicalWriter, ParticipantReader
from app.deps import DbDep, IfMatchDep, PageDep, SessionDep, page_of
from app.problems import error_responses
from app.responses import json_response
from app.schemas.common import PageOut
from app.schemas.participants import (
    ConsentIn,
    ConsentOut,
    ParticipantIn,
    ParticipantOut,
    ParticipantPatch,
    ScreeningIn,
    ScreeningOut,
)
from app.services import participant_view, screening
from app.services import participants as service
from app.services.participant_view import participant_out
from app.services.versions import etag
from app.single_statement import single_statement

router = APIRouter(prefix="/api/v1", tags=["participants"])
Status = Literal[
    "screening",
    "screen_failed",
    "eligible",
    "randomized",
    "completed",
    "died",
    "liver_transplant",
    "treatment_abandoned",
    "withdrawn",
    "lost_to_follow_up",
]


@router.post(
    "/participants",
    status_code=201,
    response_model=ParticipantOut,
    responses=error_responses(401, 403),
)
@single_statement
async def create_participant(data: ParticipantIn, db: DbDep, principal: ClinicalWriter) -> Response:
    """Enrol a participant for screening; the service assigns the study id."""
    out = await participant_view.enrol(db, principal, data)
    headers = {"Location": f"/api/v1/participants/{out.id}", "ETag": etag(out.version)}
    return json_response(out, status_code=201, headers=headers)


@router.get(
    "/participants", response_model=PageOut[ParticipantOut], responses=error_responses(401, 403)
)
@single_statement
async def list_participants(
    db: DbDep,
    principal: ParticipantReader,
    page: PageDep,
    status: Annotated[Status | None, Query()] = None,
    site_code: Annotated[str | None, Query(max_length=16)] = None,
    updated_since: Annotated[
        AwareDatetime | None,
        Query(description="only participants created or changed at or after this instant"),
    ] = None,
) -> Response:
    """Site-bound roles see only their own site's participants; each item is the full
    participant view, as the single read returns it."""
    found = await participant_view.page(
        db,
        principal,
        status=status,
        site_code=site_code,
        updated_since=updated_since,
        limit=page.limit,
        offset=page.offset,
    )
    return json_response(found)


@router.get(
    "/participants/{participant_id}",
    response_model=ParticipantOut,
    responses=error_responses(401, 403, 404),
)
@single_statement
async def get_participant(
    participant_id: uuid.UUID, db: DbDep, principal: ParticipantReader
) -> Response:
    """The participant view: status, site, consent, eligibility, arm and Day 1.
    Another site's participant answers 404 to a site-bound role."""
    out = await participant_view.read(db, principal, participant_id)
    return json_response(out, headers={"ETag": etag(out.version)})


@router.patch(
    "/participants/{participant_id}", responses=error_responses(401, 403, 404, 409, 412, 428)
)
async def correct_participant(
    participant_id: uuid.UUID,
    data: ParticipantPatch,
    principal: ClinicalWriter,
    if_match: IfMatchDep,
    session: SessionDep,
    response: Response,
) -> ParticipantOut:
    """Correct date of birth or sex: If-Match with the ETag read, and a reason (audited)."""
    participant = await service.correct(session, principal, participant_id, data, if_match)
    response.headers["ETag"] = etag(participant.version)
    return await participant_out(session, participant, principal)


@router.post(
    "/participants/{participant_id}/screening",
    status_code=201,
    response_model=ScreeningOut,
    responses=error_responses(401, 403, 404, 409),
)
async def screen_participant(
    participant_id: uuid.UUID, data: ScreeningIn, db: DbDep, principal: ClinicalWriter
) -> Response:
    """Compute the scores, apply every eligibility rule, record the decision with reasons."""
    out = await screening.screen(db, principal, participant_id, data)
    return json_response(out, status_code=201)


@router.get("/participants/{participant_id}/screening", responses=error_responses(401, 403, 404))
async def list_participant_screenings(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader, page: PageDep
) -> PageOut[ScreeningOut]:
    """Every screening of the participant, oldest first, each with its decision and
    reasons."""
    return page_of(await screening.of_participant(session, principal, participant_id), page)


@router.get("/screenings", responses=error_responses(401, 403))
async def list_screenings(
    session: SessionDep,
    principal: ParticipantReader,
    page: PageDep,
    eligible: bool | None = None,
) -> PageOut[ScreeningOut]:
    """Every screening decision (screen failures with their reasons: `eligible=false`)."""
    return await screening.decisions(
        session, principal, eligible=eligible, limit=page.limit, offset=page.offset
    )


@router.post(
    "/participants/{participant_id}/consent",
    status_code=201,
    responses=error_responses(401, 403, 404, 409),
)
async def record_consent(
    participant_id: uuid.UUID, data: ConsentIn, session: SessionDep, principal: ClinicalWriter
) -> ConsentOut:
    """Record the signed informed consent (date and form version); 409 once recorded."""
    record = await service.consent(session, principal, participant_id, data)
    return ConsentOut(
        consent_date=record.consent_date,
        form_version=record.form_version,
        recorded_at=record.created_at,
    )
