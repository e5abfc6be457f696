"""Voiding a record entered in error (SPEC §2.7): nothing clinical is ever deleted.

The record stays, marked void with a reason, and stops counting everywhere: schedules,
scores, deviations, reports. The audit trail records the change as action `VOID` with that
reason. A voided dose or visit may then be entered again correctly.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import AdverseEvent, Dose, LabResult, Treatment, Visit
from app.db.repositories import treatment as repo
from app.domain import protocol
from app.domain.errors import NotFound, StateConflict
from app.services.assessment_labs import void_visit_results
from app.services.deviations import load_context
from app.services.lab_results import check_changeable, rescore_visits_using
from app.services.participants import visible
from app.services.versions import check_version

VOIDABLE: dict[str, type[Any]] = {
    "doses": Dose,
    "visits": Visit,
    "adverse_events": AdverseEvent,
    "lab_results": LabResult,
    "treatments": Treatment,
}


async def void_record(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    table: str,
    record_id: uuid.UUID,
    expected_version: int,
    reason: str,
) -> Any:
    participant = await visible(session, principal, participant_id, lock=True)
    record = await repo.record_for_update(session, VOIDABLE[table], participant.id, record_id)
    if record is None:
        raise NotFound("No such record for this participant")
    if record.voided_at is not None:
        raise StateConflict("The record is already void")
    check_version(expected_version, record.version)
    if table == "lab_results":
        await check_changeable(record)
    await set_reason(session, reason)
    now = clock.utc_now()
    record.voided_at, record.void_reason, record.updated_at = now, reason, now
    if table == "visits":
        await void_visit_results(session, record.id, f"visit voided: {reason}")
    for deviation in await repo.live_deviations_of(session, table, record.id):
        deviation.voided_at, deviation.void_reason = now, f"record voided: {reason}"
    if table == "visits" and _undoes_completion(participant.status, record):
        participant.status = "randomized"  # completion came from this Day 84 visit
        participant.updated_at = now
    await session.flush()
    if table == "lab_results":
        ctx = await load_context(session, principal, participant.id)
        await rescore_visits_using(session, ctx, record)
    return record


def _undoes_completion(status: str, visit: Visit) -> bool:
    return status == "completed" and visit.visit_day == protocol.FINAL_VISIT_DAY
