"""Doses, dosing schedule, visits, scores over time, protocol deviations (HTTP only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth import ClinicalWriter, ParticipantReader
from app.deps import DbDep, IfMatchDep, PageDep, SessionDep, page_of
from app.problems import error_responses
from app.responses import json_response
from app.schemas.common import PageOut
from app.schemas.treatment import (
    DeviationOut,
    DoseIn,
    DoseOut,
    DosePatch,
    DosingScheduleOut,
    ScoreAssessmentOut,
    VisitIn,
    VisitOut,
    VisitPatch,
    VisitsOut,
)
from app.services import deviations, dose_recording, dosing, queries, visit_recording, visits
from app.services import score_series as score_series_service
from app.services.versions import etag

router = APIRouter(prefix="/api/v1", tags=["treatment"])

DOSES = "/participants/{participant_id}/doses"
VISITS = "/participants/{participant_id}/visits"


# --- doses ---------------------------------------------------------------------------------------


@router.get(DOSES, responses=error_responses(401, 403, 404))
async def list_doses(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader, page: PageDep
) -> PageOut[DoseOut]:
    """Every dose recorded (given or not administered), by dose number, with deviations."""
    return page_of(await dosing.list_doses(session, principal, participant_id), page)


@router.post(
    DOSES, status_code=201, response_model=DoseOut, responses=error_responses(401, 403, 404, 409)
)
async def record_dose(
    participant_id: uuid.UUID, data: DoseIn, db: DbDep, principal: ClinicalWriter
) -> Response:
    """Record a dose (exosome arm only), or `status: "not_administered"` with a `reason`.

    409: not randomized, control arm, terminal status, a 5th dose, a dose number already
    recorded, an earlier dose not yet recorded. 422: bad data, or an off-protocol dose
    (window, infusion < 120 min, particles or volume, < 48 h after the previous start)
    without `deviation_reason`; with one, the dose is recorded with its deviations.
    """
    out = await dose_recording.record(db, principal, participant_id, data)
    headers = {
        "Location": f"/api/v1/participants/{participant_id}/doses/{out.id}",
        "ETag": etag(out.version),
    }
    return json_response(out, status_code=201, headers=headers)


@router.get(DOSES + "/{dose_id}", responses=error_responses(401, 403, 404))
async def get_dose(
    participant_id: uuid.UUID,
    dose_id: uuid.UUID,
    session: SessionDep,
    principal: ParticipantReader,
    response: Response,
) -> DoseOut:
    """One dose with its deviations."""
    out = await dosing.get_dose(session, principal, participant_id, dose_id)
    response.headers["ETag"] = etag(out.version)
    return out


@router.patch(DOSES + "/{dose_id}", responses=error_responses(401, 403, 404, 409, 412, 428))
async def correct_dose(
    participant_id: uuid.UUID,
    dose_id: uuid.UUID,
    data: DosePatch,
    session: SessionDep,
    principal: ClinicalWriter,
    if_match: IfMatchDep,
    response: Response,
) -> DoseOut:
    """Correct a dose: If-Match with its ETag and a `reason`; the checks run again."""
    dose, deviations, ctx = await dosing.correct(
        session, principal, participant_id, dose_id, data, if_match
    )
    await queries.link_correction(session, principal, data.query_id, "dose", dose_id)
    response.headers["ETag"] = etag(dose.version)
    return dosing.dose_out(dose, deviations, ctx)


@router.get(
    "/participants/{participant_id}/dosing-schedule", responses=error_responses(401, 403, 404)
)
async def get_dosing_schedule(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader
) -> DosingScheduleOut:
    """Each dose's target day and date, window, status, and the next dose to give."""
    return await dosing.schedule(session, principal, participant_id)


# --- visits --------------------------------------------------------------------------------------


@router.get(VISITS, responses=error_responses(401, 403, 404))
async def list_visits(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader
) -> VisitsOut:
    """The visit schedule (baseline first) with statuses, and the visits recorded."""
    return await visits.visits_with_schedule(session, principal, participant_id)


@router.post(
    VISITS,
    status_code=201,
    response_model=VisitOut,
    responses=error_responses(401, 403, 404, 409),
)
async def record_visit(
    participant_id: uuid.UUID, data: VisitIn, db: DbDep, principal: ClinicalWriter
) -> Response:
    """Record a follow-up visit; the service computes and stores its scores.

    409: not randomized, or the visit day is already recorded (correct it with PATCH).
    422: bad data (a date in the future, before Day 1 or after a recorded death), or a date
    outside the window without `deviation_reason`.
    """
    out = await visit_recording.record(db, principal, participant_id, data)
    headers = {
        "Location": f"/api/v1/participants/{participant_id}/visits/{out.id}",
        "ETag": etag(out.version),
    }
    return json_response(out, status_code=201, headers=headers)


@router.get(VISITS + "/{visit_id}", responses=error_responses(401, 403, 404))
async def get_visit(
    participant_id: uuid.UUID,
    visit_id: uuid.UUID,
    session: SessionDep,
    principal: ParticipantReader,
    response: Response,
) -> VisitOut:
    """One follow-up visit with its scores and deviations."""
    out = await visits.get_visit(session, principal, participant_id, visit_id)
    response.headers["ETag"] = etag(out.version)
    return out


@router.patch(VISITS + "/{visit_id}", responses=error_responses(401, 403, 404, 409, 412, 428))
async def correct_visit(
    participant_id: uuid.UUID,
    visit_id: uuid.UUID,
    data: VisitPatch,
    session: SessionDep,
    principal: ClinicalWriter,
    if_match: IfMatchDep,
    response: Response,
) -> VisitOut:
    """Correct a visit: If-Match with its ETag and a `reason`; scores are recomputed."""
    visit, deviations, ctx = await visits.correct(
        session, principal, participant_id, visit_id, data, if_match
    )
    await queries.link_correction(session, principal, data.query_id, "visit", visit_id)
    response.headers["ETag"] = etag(visit.version)
    return visits.visit_out(visit, deviations, ctx)


@router.get("/participants/{participant_id}/scores", responses=error_responses(401, 403, 404))
async def list_scores(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader, page: PageDep
) -> PageOut[ScoreAssessmentOut]:
    """Baseline (screening) first, then each visit by day, with change from baseline."""
    series = await score_series_service.score_series(session, principal, participant_id)
    return page_of(series, page)


# --- protocol deviations -------------------------------------------------------------------------


@router.get("/protocol-deviations", responses=error_responses(401, 403))
async def list_protocol_deviations(
    session: SessionDep,
    principal: ParticipantReader,
    page: PageDep,
    participant_id: uuid.UUID | None = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    include_voided: bool = False,
) -> PageOut[DeviationOut]:
    """Oldest first; site-bound roles see only their own site's participants."""
    return await deviations.list_deviations(
        session,
        principal,
        participant_id,
        kind=kind,
        include_voided=include_voided,
        limit=page.limit,
        offset=page.offset,
    )
