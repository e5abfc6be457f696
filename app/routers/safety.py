"""Adverse events and their sponsor-reporting clocks (HTTP only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app import clock
from app.auth import SafetyReader, SafetyWriter
from app.deps import IfMatchDep, PageDep, SessionDep
from app.problems import error_responses
from app.schemas.common import PageOut
from app.schemas.safety import AdverseEventIn, AdverseEventOut, AdverseEventPatch, SponsorReportIn
from app.services import adverse_events as service
from app.services import queries
from app.services.access import visible_site_filter
from app.services.versions import etag

router = APIRouter(prefix="/api/v1", tags=["safety"])
AE_PATH = "/participants/{participant_id}/adverse-events"


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
    return await service.one_out(session, event, participant)


@router.get(AE_PATH, responses=error_responses(401, 403, 404))
async def list_participant_adverse_events(
    participant_id: uuid.UUID, session: SessionDep, principal: SafetyReader, page: PageDep
) -> PageOut[AdverseEventOut]:
    """The participant's adverse events, by awareness time."""
    items, total = await service.list_for_participant(
        session,
        principal,
        participant_id,
        service.AeFilter(now=clock.utc_now()),
        limit=page.limit,
        offset=page.offset,
    )
    return PageOut[AdverseEventOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(AE_PATH + "/{ae_id}", responses=error_responses(401, 403, 404))
async def get_adverse_event(
    participant_id: uuid.UUID,
    ae_id: uuid.UUID,
    session: SessionDep,
    principal: SafetyReader,
    response: Response,
) -> AdverseEventOut:
    """One adverse event with its derived `susar` flag and reporting clocks."""
    event, participant = await service.visible_event(session, principal, participant_id, ae_id)
    response.headers["ETag"] = etag(event.version)
    return await service.one_out(session, event, participant)


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
    await queries.link_correction(session, principal, data.query_id, "adverse_event", ae_id)
    response.headers["ETag"] = etag(event.version)
    return await service.one_out(session, event, participant)


@router.post(AE_PATH + "/{ae_id}/sponsor-report", responses=error_responses(401, 403, 404, 409))
async def record_sponsor_report(
    participant_id: uuid.UUID,
    ae_id: uuid.UUID,
    data: SponsorReportIn,
    session: SessionDep,
    principal: SafetyWriter,
    response: Response,
) -> AdverseEventOut:
    """Record when the SAE report (default), the SUSAR's expedited report (`expedited: true`)
    or a fatal/life-threatening SUSAR's follow-up (`follow_up: true`) reached the sponsor.
    The first report records `sponsor_aware_at`, from which the SUSAR clock runs. 409 for a
    non-serious event, a report the event does not have, or one already recorded."""
    event, participant = await service.report_to_sponsor(
        session, principal, participant_id, ae_id, data
    )
    response.headers["ETag"] = etag(event.version)
    return await service.one_out(session, event, participant)


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
    filters = service.AeFilter(
        now=clock.utc_now(),
        site_id=visible_site_filter(principal),
        serious=serious,
        susar=susar,
        overdue=overdue,
        due=due,
    )
    items, total = await service.list_events(session, filters, limit=page.limit, offset=page.offset)
    return PageOut[AdverseEventOut](items=items, total=total, limit=page.limit, offset=page.offset)
