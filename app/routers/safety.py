"""Adverse events and their sponsor-reporting clocks (HTTP only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app import clock
from app.auth import SafetyReader, SafetyWriter
from app.db.models import AdverseEvent
from app.db.repositories import safety as repo
from app.deps import IfMatchDep, PageDep, SessionDep
from app.problems import error_responses
from app.schemas.common import PageOut
from app.schemas.safety import AdverseEventIn, AdverseEventOut, AdverseEventPatch, SponsorReportIn
from app.services import adverse_events as service
from app.services.access import visible_site_filter
from app.services.participants import visible
from app.services.versions import etag

router = APIRouter(prefix="/api/v1", tags=["safety"])
AE_PATH = "/participants/{participant_id}/adverse-events"


def _out(event: AdverseEvent, study_id: str) -> AdverseEventOut:
    standing = service.clocks(event, clock.utc_now())
    return AdverseEventOut(
        id=event.id,
        participant_id=event.participant_id,
        study_id=study_id,
        term=event.term,
        meddra_pt_code=event.meddra_pt_code,
        onset_date=event.onset_date,
        end_date=event.end_date,
        ctcae_grade=event.ctcae_grade,
        serious=event.serious,
        seriousness_criteria=list(event.seriousness_criteria),
        relatedness=event.relatedness,
        expectedness=event.expectedness,
        action_taken=event.action_taken,
        outcome=event.outcome,
        aware_at=event.aware_at,
        dose_id=event.dose_id,
        susar=event.susar,
        report_due_at=event.report_due_at,
        expedited_due_at=event.expedited_due_at,
        reported_at=event.reported_at,
        expedited_reported_at=event.expedited_reported_at,
        report_status=standing.report_status,
        expedited_report_status=standing.expedited_report_status,
        overdue=standing.overdue,
        version=event.version,
        created_at=event.created_at,
        updated_at=event.updated_at,
        voided_at=event.voided_at,
    )


@router.post(AE_PATH, status_code=201, responses=error_responses(401, 403, 404, 409))
async def record_adverse_event(
    participant_id: uuid.UUID,
    data: AdverseEventIn,
    session: SessionDep,
    principal: SafetyWriter,
    response: Response,
) -> AdverseEventOut:
    """Record an AE/SAE; the service derives `susar` and the sponsor-reporting clocks.

    422 names every field that breaks a consistency rule; 409 for a fatal event before the
    participant's death is recorded.
    """
    event, participant = await service.record(session, principal, participant_id, data)
    response.headers["Location"] = (
        f"/api/v1{AE_PATH.format(participant_id=participant.id)}/{event.id}"
    )
    response.headers["ETag"] = etag(event.version)
    return _out(event, participant.study_id)


@router.get(AE_PATH, responses=error_responses(401, 403, 404))
async def list_participant_adverse_events(
    participant_id: uuid.UUID, session: SessionDep, principal: SafetyReader, page: PageDep
) -> PageOut[AdverseEventOut]:
    participant = await visible(session, principal, participant_id)
    rows, total = await repo.list_events(
        session,
        repo.AeFilter(now=clock.utc_now(), participant_id=participant.id),
        limit=page.limit,
        offset=page.offset,
    )
    items = [_out(e, study_id) for e, study_id in rows]
    return PageOut[AdverseEventOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(AE_PATH + "/{ae_id}", responses=error_responses(401, 403, 404))
async def get_adverse_event(
    participant_id: uuid.UUID,
    ae_id: uuid.UUID,
    session: SessionDep,
    principal: SafetyReader,
    response: Response,
) -> AdverseEventOut:
    event, participant = await service.visible_event(session, principal, participant_id, ae_id)
    response.headers["ETag"] = etag(event.version)
    return _out(event, participant.study_id)


@router.patch(AE_PATH + "/{ae_id}", responses=error_responses(401, 403, 404, 409, 412, 428))
async def follow_up_adverse_event(
    participant_id: uuid.UUID,
    ae_id: uuid.UUID,
    data: AdverseEventPatch,
    if_match: IfMatchDep,
    session: SessionDep,
    principal: SafetyWriter,
    response: Response,
) -> AdverseEventOut:
    """Follow-up or correction (end date, outcome, grade, ...): If-Match and a reason.

    The changed event is validated again as a whole and its clocks recomputed.
    """
    event, participant = await service.follow_up(
        session, principal, participant_id, ae_id, data, if_match
    )
    response.headers["ETag"] = etag(event.version)
    return _out(event, participant.study_id)


@router.post(AE_PATH + "/{ae_id}/sponsor-report", responses=error_responses(401, 403, 404, 409))
async def record_sponsor_report(
    participant_id: uuid.UUID,
    ae_id: uuid.UUID,
    data: SponsorReportIn,
    session: SessionDep,
    principal: SafetyWriter,
    response: Response,
) -> AdverseEventOut:
    """Record when the SAE report (`expedited: false`) or the SUSAR's expedited report
    (`expedited: true`) reached the sponsor. 409 for a non-serious event, an expedited report
    of a non-SUSAR, or a report already recorded."""
    event, participant = await service.report_to_sponsor(
        session, principal, participant_id, ae_id, data
    )
    response.headers["ETag"] = etag(event.version)
    return _out(event, participant.study_id)


@router.get("/adverse-events", responses=error_responses(401, 403))
async def list_adverse_events(
    session: SessionDep,
    principal: SafetyReader,
    page: PageDep,
    serious: bool | None = None,
    susar: bool | None = None,
    overdue: Annotated[
        bool | None, Query(description="a required report is unreported past its due time")
    ] = None,
    due: Annotated[
        bool | None, Query(description="a required report is still unreported (due or overdue)")
    ] = None,
) -> PageOut[AdverseEventOut]:
    """Adverse events across participants (site-bound roles: their own site), by awareness."""
    filters = repo.AeFilter(
        now=clock.utc_now(),
        site_id=visible_site_filter(principal),
        serious=serious,
        susar=susar,
        overdue=overdue,
        due=due,
    )
    rows, total = await repo.list_events(session, filters, limit=page.limit, offset=page.offset)
    items = [_out(e, study_id) for e, study_id in rows]
    return PageOut[AdverseEventOut](items=items, total=total, limit=page.limit, offset=page.offset)
