"""Laboratory results of a participant (SPEC §7) (HTTP only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app.auth import ClinicalWriter, ParticipantReader
from app.deps import IfMatchDep, PageDep, SessionDep
from app.problems import error_responses
from app.schemas.common import PageOut
from app.schemas.labs import LabResultIn, LabResultOut, LabResultPatch
from app.services import lab_results, queries
from app.services.versions import etag

router = APIRouter(prefix="/api/v1/participants/{participant_id}", tags=["lab results"])
RESULTS = "/lab-results"


@router.post(RESULTS, status_code=201, responses=error_responses(401, 403, 404, 409))
async def record_lab_result(
    participant_id: uuid.UUID,
    data: LabResultIn,
    session: SessionDep,
    principal: ClinicalWriter,
    response: Response,
) -> LabResultOut:
    """Record one analyte's result with its UCUM unit; the service adds the canonical value.

    422: an unknown analyte, a unit that is not UCUM or not commensurable with the analyte's
    canonical unit (`unit`), a collection time in the future or after a recorded death
    (`collected_at`). 409: a result of that analyte and collection time already exists.
    """
    result = await lab_results.record(session, principal, participant_id, data)
    response.headers["Location"] = f"/api/v1/participants/{participant_id}/lab-results/{result.id}"
    response.headers["ETag"] = etag(result.version)
    return lab_results.lab_result_out(result)


@router.get(RESULTS, responses=error_responses(401, 403, 404))
async def list_lab_results(
    participant_id: uuid.UUID,
    session: SessionDep,
    principal: ParticipantReader,
    page: PageDep,
    analyte: Annotated[str | None, Query(max_length=32)] = None,
    source: Literal["api", "visit", "screening", "fhir"] | None = None,
    collected_from: datetime | None = None,
    collected_to: datetime | None = None,
    include_voided: bool = False,
) -> PageOut[LabResultOut]:
    """The participant's results by collection time (bounds inclusive), voided ones on request."""
    return await lab_results.list_results(
        session,
        principal,
        participant_id,
        limit=page.limit,
        offset=page.offset,
        analyte=analyte,
        source=source,
        collected_from=collected_from,
        collected_to=collected_to,
        include_voided=include_voided,
    )


@router.get(RESULTS + "/{result_id}", responses=error_responses(401, 403, 404))
async def get_lab_result(
    participant_id: uuid.UUID,
    result_id: uuid.UUID,
    session: SessionDep,
    principal: ParticipantReader,
    response: Response,
) -> LabResultOut:
    """One lab result: as entered, and in the analyte's canonical unit."""
    out = await lab_results.get_result(session, principal, participant_id, result_id)
    response.headers["ETag"] = etag(out.version)
    return out


@router.patch(RESULTS + "/{result_id}", responses=error_responses(401, 403, 404, 409, 412, 428))
async def correct_lab_result(
    participant_id: uuid.UUID,
    result_id: uuid.UUID,
    data: LabResultPatch,
    session: SessionDep,
    principal: ClinicalWriter,
    if_match: IfMatchDep,
    response: Response,
) -> LabResultOut:
    """Correct a result entered directly (If-Match + `reason`); the checks run again.

    409: a result entered with a screening or visit (correct it through that record). A live
    visit whose labs were taken from this result reads its day's results again (scores too).
    """
    result = await lab_results.correct(
        session, principal, participant_id, result_id, data, if_match
    )
    await queries.link_correction(session, principal, data.query_id, "lab_result", result_id)
    response.headers["ETag"] = etag(result.version)
    return lab_results.lab_result_out(result)
