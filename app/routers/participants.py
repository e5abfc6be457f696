"""Participants, screening and consent (HTTP only: parse, authorize, call, shape)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app.auth import ClinicalWriter, ParticipantReader
from app.db.repositories import access as access_repo
from app.db.repositories import participants as repo
from app.deps import IfMatchDep, PageDep, SessionDep
from app.problems import error_responses
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
from app.services import participants as service
from app.services.access import visible_site_filter
from app.services.participant_view import participant_out, screening_out
from app.services.versions import etag

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


@router.post("/participants", status_code=201, responses=error_responses(401, 403))
async def create_participant(
    data: ParticipantIn, session: SessionDep, principal: ClinicalWriter, response: Response
) -> ParticipantOut:
    """Enrol a participant for screening; the service assigns the study id."""
    participant = await service.create(session, principal, data)
    response.headers["Location"] = f"/api/v1/participants/{participant.id}"
    response.headers["ETag"] = etag(participant.version)
    # a new participant has no consent, screening or allocation yet: nothing more to fetch
    return await participant_out(session, participant, site_code=data.site_code, brief=True)


@router.get("/participants", responses=error_responses(401, 403))
async def list_participants(
    session: SessionDep,
    principal: ParticipantReader,
    page: PageDep,
    status: Annotated[Status | None, Query()] = None,
    site_code: Annotated[str | None, Query(max_length=16)] = None,
) -> PageOut[ParticipantOut]:
    """Site-bound roles see only their own site's participants."""
    site_id = visible_site_filter(principal)
    if site_code is not None:
        site = await access_repo.site_by_code(session, site_code)
        if site is None or (site_id is not None and site.id != site_id):
            return PageOut[ParticipantOut](items=[], total=0, limit=page.limit, offset=page.offset)
        site_id = site.id
    rows, total = await repo.list_participants(
        session, site_id=site_id, status=status, limit=page.limit, offset=page.offset
    )
    items = [await participant_out(session, p, site_code=code, brief=True) for p, code in rows]
    return PageOut[ParticipantOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/participants/{participant_id}", responses=error_responses(401, 403, 404))
async def get_participant(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader, response: Response
) -> ParticipantOut:
    participant = await service.visible(session, principal, participant_id)
    response.headers["ETag"] = etag(participant.version)
    return await participant_out(session, participant)


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
    return await participant_out(session, participant)


@router.post(
    "/participants/{participant_id}/screening",
    status_code=201,
    responses=error_responses(401, 403, 404, 409),
)
async def screen_participant(
    participant_id: uuid.UUID, data: ScreeningIn, session: SessionDep, principal: ClinicalWriter
) -> ScreeningOut:
    """Compute the scores, apply every eligibility rule, record the decision with reasons."""
    screening, participant = await service.screen(session, principal, participant_id, data)
    return screening_out(screening, participant)


@router.get("/participants/{participant_id}/screening", responses=error_responses(401, 403, 404))
async def list_participant_screenings(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader
) -> list[ScreeningOut]:
    participant = await service.visible(session, principal, participant_id)
    return [screening_out(s, participant) for s in await repo.screenings(session, participant.id)]


@router.get("/screenings", responses=error_responses(401, 403))
async def list_screenings(
    session: SessionDep,
    principal: ParticipantReader,
    page: PageDep,
    eligible: bool | None = None,
) -> PageOut[ScreeningOut]:
    """Every screening decision (screen failures with their reasons: `eligible=false`)."""
    rows, total = await repo.list_screenings(
        session,
        site_id=visible_site_filter(principal),
        eligible=eligible,
        limit=page.limit,
        offset=page.offset,
    )
    items = [screening_out(s, p) for s, p in rows]
    return PageOut[ScreeningOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/participants/{participant_id}/consent",
    status_code=201,
    responses=error_responses(401, 403, 404, 409),
)
async def record_consent(
    participant_id: uuid.UUID, data: ConsentIn, session: SessionDep, principal: ClinicalWriter
) -> ConsentOut:
    record = await service.consent(session, principal, participant_id, data)
    return ConsentOut(
        consent_date=record.consent_date,
        form_version=record.form_version,
        recorded_at=record.created_at,
    )
