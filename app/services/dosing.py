"""Study-drug administration: record a dose (or a dose not given), correct it, the schedule.

Recording a new dose is the hot path and lives in `app.services.dose_recording` (driver
connection); it uses the checks and shaping defined here. The rules are `app.domain.dosing`;
this module gathers what they need (arm, Day 1, the site's
time zone, the doses already recorded, a recorded death, now), applies the decision and
writes the dose with its protocol deviations in the request's transaction.

Corrections (PATCH) re-run the same checks on the merged record, with the dose itself left
out of "existing". Like late entries they are accepted after a terminal event as long as the
dose does not start after it; every data rule (times, windows, deviation reason) applies.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import Dose, ProtocolDeviation
from app.db.repositories import treatment as repo
from app.domain import protocol
from app.domain.deviations import DeviationFinding
from app.domain.dosing import (
    GIVEN,
    NOT_ADMINISTERED,
    DoseRecordView,
    check_dose,
    check_not_administered,
)
from app.domain.dosing_schedule import ScheduledDose, dosing_schedule
from app.domain.errors import FieldError, InvalidData, NotFound
from app.domain.study_days import study_day
from app.schemas.treatment import (
    DeviationOut,
    DoseIn,
    DoseOut,
    DosePatch,
    DosingScheduleOut,
    ScheduledDoseOut,
)
from app.services.deviations import TreatmentContext, load_context, sync_findings
from app.services.versions import check_version

RECORD_TABLE = "doses"
INFUSION_FIELDS = ("started_at", "ended_at", "particles", "volume_ml", "lot_number")
GIVEN_ONLY_FIELDS = (*INFUSION_FIELDS, "interruption_notes", "deviation_reason")


def view(dose: Dose) -> DoseRecordView:
    return DoseRecordView(dose.dose_number, dose.status, dose.started_at, dose.ended_at)


# --- recording -----------------------------------------------------------------------------------


async def correct(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    dose_id: uuid.UUID,
    data: DosePatch,
    expected_version: int,
) -> tuple[Dose, list[ProtocolDeviation], TreatmentContext]:
    ctx = await load_context(session, principal, participant_id, lock=True)
    dose = await repo.dose_for_update(session, ctx.participant.id, dose_id)
    if dose is None or dose.voided_at is not None:
        raise NotFound("No such dose")
    check_version(expected_version, dose.version)
    changes = data.model_dump(exclude_unset=True, exclude={"reason", "query_id"})
    if not changes:
        raise InvalidData.one("body", "nothing to change")
    if "status" in changes and changes["status"] is None:
        raise InvalidData.one("status", "cannot be null")
    merged = _merged(dose, changes)
    others = [d for d in await repo.doses(session, ctx.participant.id) if d.id != dose.id]
    findings = check(ctx, merged, [view(d) for d in others], ctx.participant.status)
    _refuse_overtaking(merged, others)
    await set_reason(session, data.reason)
    for name, value in columns(merged, findings).items():
        setattr(dose, name, value)
    dose.updated_at = clock.utc_now()
    await session.flush()
    deviations = await sync_findings(
        session,
        principal,
        participant_id=ctx.participant.id,
        record_table=RECORD_TABLE,
        record_id=dose.id,
        findings=findings,
        reason=merged.deviation_reason,
        void_reason=f"corrected: {data.reason}",
    )
    return dose, deviations, ctx


def check(
    ctx: TreatmentContext, data: DoseIn, existing: list[DoseRecordView], status: str
) -> list[DeviationFinding]:
    """The domain decision; request-shape problems (missing fields) are 422s first."""
    if data.status == NOT_ADMINISTERED:
        _refuse_fields(data, GIVEN_ONLY_FIELDS, "must be absent for a dose not administered")
        check_not_administered(
            arm=ctx.arm,
            participant_status=status,
            day1=ctx.day1 or ctx.today,
            existing=existing,
            dose_number=data.dose_number,
            reason=data.reason,
            terminal=ctx.terminal_event(),
        )
        return []
    _refuse_fields(
        data,
        ("reason",),
        "is only for a dose not administered; an off-protocol dose takes deviation_reason",
    )
    _require_infusion(data)
    assert data.started_at is not None
    assert data.ended_at is not None
    assert data.particles is not None
    assert data.volume_ml is not None
    return check_dose(
        arm=ctx.arm,
        participant_status=status,
        # unused when not randomized: that is refused before any date is looked at
        day1=ctx.day1 or ctx.today,
        existing=existing,
        dose_number=data.dose_number,
        started_at=data.started_at,
        ended_at=data.ended_at,
        particles=data.particles,
        volume_ml=data.volume_ml,
        now=ctx.now,
        deviation_reason=data.deviation_reason,
        death_date=ctx.death_date,
        site_timezone=ctx.timezone,
        terminal=ctx.terminal_event(),
    )


def _refuse_fields(data: DoseIn, names: tuple[str, ...], message: str) -> None:
    errors = [FieldError(n, message) for n in names if getattr(data, n) is not None]
    if errors:
        raise InvalidData(errors)


def _require_infusion(data: DoseIn) -> None:
    errors = [
        FieldError(n, "is required for a given dose")
        for n in INFUSION_FIELDS
        if getattr(data, n) is None
    ]
    if errors:
        raise InvalidData(errors)


def _refuse_overtaking(merged: DoseIn, others: list[Dose]) -> None:
    """A corrected dose may not end after a later dose started (doses are in order)."""
    later = [
        d
        for d in others
        if d.dose_number > merged.dose_number and d.status == GIVEN and d.started_at
    ]
    first = min(later, key=lambda d: d.dose_number, default=None)
    if first is None or merged.ended_at is None or first.started_at is None:
        return
    if merged.ended_at > first.started_at:
        raise InvalidData.one(
            "ended_at",
            f"is after dose {first.dose_number} started ({first.started_at.isoformat()})",
        )


def columns(data: DoseIn, findings: list[DeviationFinding]) -> dict[str, Any]:
    return {
        "status": data.status,
        "started_at": data.started_at,
        "ended_at": data.ended_at,
        "particles": data.particles,
        "volume_ml": data.volume_ml,
        "lot_number": data.lot_number,
        "interruption_notes": data.interruption_notes,
        "not_given_reason": data.reason,
        # an on-protocol dose has no deviation: a reason sent with it is not kept
        "deviation_reason": data.deviation_reason if findings else None,
    }


def _merged(dose: Dose, changes: dict[str, Any]) -> DoseIn:
    """The record as it would be after the correction (already validated field by field)."""
    status = changes.get("status", dose.status)
    values: dict[str, Any] = {
        "started_at": dose.started_at,
        "ended_at": dose.ended_at,
        "particles": dose.particles,
        "volume_ml": dose.volume_ml,
        "lot_number": dose.lot_number,
        "interruption_notes": dose.interruption_notes,
        "deviation_reason": dose.deviation_reason,
        "reason": dose.not_given_reason,
    }
    if status != dose.status:  # given <-> not_administered: start from a clean record
        values = dict.fromkeys(values)
    for name, value in changes.items():
        if name != "status":
            values["reason" if name == "not_administered_reason" else name] = value
    return DoseIn.model_construct(dose_number=dose.dose_number, status=status, **values)


# --- reading -------------------------------------------------------------------------------------


async def list_doses(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID
) -> list[DoseOut]:
    ctx = await load_context(session, principal, participant_id)
    doses = await repo.doses(session, ctx.participant.id)
    linked = await repo.deviations_of(session, RECORD_TABLE, [d.id for d in doses])
    return [dose_out(d, linked.get(d.id, []), ctx) for d in doses]


async def get_dose(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, dose_id: uuid.UUID
) -> DoseOut:
    ctx = await load_context(session, principal, participant_id)
    dose = await repo.dose(session, ctx.participant.id, dose_id)
    if dose is None:
        raise NotFound("No such dose")
    linked = await repo.deviations_of(session, RECORD_TABLE, [dose.id])
    return dose_out(dose, linked.get(dose.id, []), ctx)


def dose_out(dose: Dose, deviations: list[ProtocolDeviation], ctx: TreatmentContext) -> DoseOut:
    shown = [DeviationOut.model_validate(d) for d in deviations]
    day = (
        study_day(ctx.day1, ctx.local_date(dose.started_at))
        if ctx.day1 and dose.started_at
        else None
    )
    return DoseOut(
        id=dose.id,
        participant_id=dose.participant_id,
        dose_number=dose.dose_number,
        status=dose.status,
        started_at=dose.started_at,
        ended_at=dose.ended_at,
        study_day=day,
        particles=dose.particles,
        volume_ml=float(dose.volume_ml) if dose.volume_ml is not None else None,
        lot_number=dose.lot_number,
        interruption_notes=dose.interruption_notes,
        reason=dose.not_given_reason,
        deviation_reason=dose.deviation_reason,
        deviation=shown[0] if shown else None,
        deviations=shown,
        version=dose.version,
        created_at=dose.created_at,
        updated_at=dose.updated_at,
    )


async def schedule(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID
) -> DosingScheduleOut:
    """Each dose's window and status, and the next dose (none before randomization)."""
    ctx = await load_context(session, principal, participant_id)
    out = DosingScheduleOut(
        participant_id=ctx.participant.id,
        arm=ctx.arm,
        day1=ctx.day1,
        today=ctx.today,
        doses=[],
        next_dose=None,
    )
    if ctx.day1 is None:
        return out
    doses = await repo.doses(session, ctx.participant.id)
    decided = dosing_schedule(
        arm=ctx.arm,
        participant_status=ctx.participant.status,
        day1=ctx.day1,
        existing=[view(d) for d in doses],
        today=ctx.today,
        terminal=ctx.terminal_event(),
    )
    out.doses = [_scheduled_out(s, doses) for s in decided.doses]
    out.next_dose = _scheduled_out(decided.next_dose, doses) if decided.next_dose else None
    return out


def _scheduled_out(scheduled: ScheduledDose, doses: list[Dose]) -> ScheduledDoseOut:
    window = protocol.DOSE_WINDOWS[scheduled.dose_number]
    recorded = next((d for d in doses if d.dose_number == scheduled.dose_number), None)
    previous = [
        d
        for d in doses
        if d.dose_number < scheduled.dose_number and d.status == GIVEN and d.started_at
    ]
    latest = max(previous, key=lambda d: d.dose_number, default=None)
    open_ = recorded is None and scheduled.status != "not_applicable"
    return ScheduledDoseOut(
        dose_number=scheduled.dose_number,
        target_day=scheduled.target_day,
        target_date=scheduled.target_date,
        window_first_day=window.first_day,
        window_last_day=window.last_day,
        window_start=scheduled.window_start,
        window_end=scheduled.window_end,
        status=scheduled.status,
        dose_id=recorded.id if recorded else None,
        not_before=(
            latest.started_at + protocol.MIN_INTERVAL_BETWEEN_DOSES
            if open_ and latest and latest.started_at
            else None
        ),
    )
