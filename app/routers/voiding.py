"""Voiding doses, visits, adverse events, lab results and treatments entered in error."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.auth import ClinicalWriter
from app.deps import IfMatchDep, SessionDep
from app.problems import error_responses
from app.schemas.voiding import VoidIn, VoidOut
from app.services.versions import etag
from app.services.voiding import void_record

router = APIRouter(prefix="/api/v1/participants/{participant_id}", tags=["corrections"])
ERRORS = error_responses(401, 403, 404, 409, 412, 428)


async def _void(
    session: SessionDep,
    principal: ClinicalWriter,
    participant_id: uuid.UUID,
    table: str,
    record_id: uuid.UUID,
    version: int,
    data: VoidIn,
    response: Response,
) -> VoidOut:
    record = await void_record(
        session, principal, participant_id, table, record_id, version, data.reason
    )
    response.headers["ETag"] = etag(record.version)
    return VoidOut(
        id=record.id,
        record_type=table,
        voided_at=record.voided_at,
        void_reason=record.void_reason,
        version=record.version,
    )


@router.post("/doses/{dose_id}/void", responses=ERRORS)
async def void_dose(
    participant_id: uuid.UUID,
    dose_id: uuid.UUID,
    data: VoidIn,
    principal: ClinicalWriter,
    if_match: IfMatchDep,
    session: SessionDep,
    response: Response,
) -> VoidOut:
    """Void a dose entered in error (If-Match + reason); its deviations are voided with it."""
    return await _void(
        session, principal, participant_id, "doses", dose_id, if_match, data, response
    )


@router.post("/visits/{visit_id}/void", responses=ERRORS)
async def void_visit(
    participant_id: uuid.UUID,
    visit_id: uuid.UUID,
    data: VoidIn,
    principal: ClinicalWriter,
    if_match: IfMatchDep,
    session: SessionDep,
    response: Response,
) -> VoidOut:
    """Void a visit entered in error; voiding the Day 84 visit undoes `completed`."""
    return await _void(
        session, principal, participant_id, "visits", visit_id, if_match, data, response
    )


@router.post("/adverse-events/{ae_id}/void", responses=ERRORS)
async def void_adverse_event(
    participant_id: uuid.UUID,
    ae_id: uuid.UUID,
    data: VoidIn,
    principal: ClinicalWriter,
    if_match: IfMatchDep,
    session: SessionDep,
    response: Response,
) -> VoidOut:
    """Void an adverse event entered in error (a duplicate, the wrong participant)."""
    return await _void(
        session, principal, participant_id, "adverse_events", ae_id, if_match, data, response
    )


@router.post("/lab-results/{result_id}/void", responses=ERRORS)
async def void_lab_result(
    participant_id: uuid.UUID,
    result_id: uuid.UUID,
    data: VoidIn,
    principal: ClinicalWriter,
    if_match: IfMatchDep,
    session: SessionDep,
    response: Response,
) -> VoidOut:
    """Void a result entered directly in error (one entered with a screening or visit: 409)."""
    return await _void(
        session, principal, participant_id, "lab_results", result_id, if_match, data, response
    )


@router.post("/treatments/{treatment_id}/void", responses=ERRORS)
async def void_treatment(
    participant_id: uuid.UUID,
    treatment_id: uuid.UUID,
    data: VoidIn,
    principal: ClinicalWriter,
    if_match: IfMatchDep,
    session: SessionDep,
    response: Response,
) -> VoidOut:
    """Void a standard-medical-treatment record entered in error."""
    return await _void(
        session, principal, participant_id, "treatments", treatment_id, if_match, data, response
    )
