"""Standard medical treatment of a participant (SPEC §7) (HTTP only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.auth import ClinicalWriter, ParticipantReader
from app.deps import IfMatchDep, PageDep, SessionDep
from app.problems import error_responses
from app.schemas.common import PageOut
from app.schemas.labs import TreatmentCategory, TreatmentIn, TreatmentOut, TreatmentPatch
from app.services import queries, treatments
from app.services.versions import etag

router = APIRouter(prefix="/api/v1/participants/{participant_id}", tags=["treatments"])
TREATMENTS = "/treatments"


@router.post(TREATMENTS, status_code=201, responses=error_responses(401, 403, 404))
async def record_treatment(
    participant_id: uuid.UUID,
    data: TreatmentIn,
    session: SessionDep,
    principal: ClinicalWriter,
    response: Response,
) -> TreatmentOut:
    """Record a medication or an artificial liver support session (modality as `name`).

    Any participant (prior and concomitant medications too). 422: `end_date` before
    `start_date`, a date in the future or after a recorded death, an `atc_code` that is not
    a WHO ATC code of level 1-5 (or one given for artificial liver support).
    """
    treatment = await treatments.record(session, principal, participant_id, data)
    response.headers["Location"] = (
        f"/api/v1/participants/{participant_id}/treatments/{treatment.id}"
    )
    response.headers["ETag"] = etag(treatment.version)
    return TreatmentOut.model_validate(treatment)


@router.get(TREATMENTS, responses=error_responses(401, 403, 404))
async def list_treatments(
    participant_id: uuid.UUID,
    session: SessionDep,
    principal: ParticipantReader,
    page: PageDep,
    category: TreatmentCategory | None = None,
    include_voided: bool = False,
) -> PageOut[TreatmentOut]:
    """The participant's treatments by start date."""
    return await treatments.list_treatments(
        session,
        principal,
        participant_id,
        category=category,
        include_voided=include_voided,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(TREATMENTS + "/{treatment_id}", responses=error_responses(401, 403, 404))
async def get_treatment(
    participant_id: uuid.UUID,
    treatment_id: uuid.UUID,
    session: SessionDep,
    principal: ParticipantReader,
    response: Response,
) -> TreatmentOut:
    """One standard medical treatment record."""
    out = await treatments.get_treatment(session, principal, participant_id, treatment_id)
    response.headers["ETag"] = etag(out.version)
    return out


@router.patch(
    TREATMENTS + "/{treatment_id}", responses=error_responses(401, 403, 404, 409, 412, 428)
)
async def correct_treatment(
    participant_id: uuid.UUID,
    treatment_id: uuid.UUID,
    data: TreatmentPatch,
    session: SessionDep,
    principal: ClinicalWriter,
    if_match: IfMatchDep,
    response: Response,
) -> TreatmentOut:
    """Correct a treatment (If-Match + `reason`); the checks run again on the merged record."""
    treatment = await treatments.correct(
        session, principal, participant_id, treatment_id, data, if_match
    )
    await queries.link_correction(session, principal, data.query_id, "treatment", treatment_id)
    response.headers["ETag"] = etag(treatment.version)
    return TreatmentOut.model_validate(treatment)
