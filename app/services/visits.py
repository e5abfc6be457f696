"""Follow-up visits: correct one, read them, the schedule; the rules every visit write shares.

Recording a new visit is the hot path and lives in `app.services.visit_recording` (driver
connection); it uses the checks and the scoring defined here.

The rules are `app.domain.visits`; scores are `app.domain.scores`, computed with the
participant's age in completed years on the visit date and stored with their version
strings. A correction recomputes the stored scores from the merged record. Recording the
Day 84 visit (vital status alive) moves a `randomized` participant to `completed`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import Participant, ProtocolDeviation, Visit
from app.db.repositories import treatment as repo
from app.domain import protocol
from app.domain.deviations import DeviationFinding
from app.domain.eligibility import age_in_completed_years
from app.domain.errors import FieldError, InvalidData, NotFound
from app.domain.lab_results import VISIT_ANALYTES
from app.domain.scores import compute_scores
from app.domain.study_days import study_day
from app.domain.units import CanonicalLab, Quantity, canonicalize_labs
from app.domain.visits import ASSESSMENT_FIELDS, check_visit, visit_schedule
from app.interop.ucum import UCUM
from app.schemas.treatment import (
    DeviationOut,
    VisitIn,
    VisitOut,
    VisitPatch,
    VisitSlotOut,
    VisitsOut,
)
from app.services import assessment_labs
from app.services.deviations import (
    ParticipantFacts,
    TreatmentContext,
    load_context,
    sync_findings,
)
from app.services.scoring import scores_json
from app.services.versions import check_version

RECORD_TABLE = "visits"
ALIVE = "alive"
COMPLETION_REASON = f"the Day {protocol.FINAL_VISIT_DAY} visit completes follow-up"


# --- recording -----------------------------------------------------------------------------------


async def correct(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    visit_id: uuid.UUID,
    data: VisitPatch,
    expected_version: int,
) -> tuple[Visit, list[ProtocolDeviation], TreatmentContext]:
    ctx = await load_context(session, principal, participant_id, lock=True)
    visit = await repo.visit_for_update(session, ctx.participant.id, visit_id)
    if visit is None or visit.voided_at is not None:
        raise NotFound("No such visit")
    check_version(expected_version, visit.version)
    sent = data.model_fields_set - {"reason", "query_id"}
    if not sent:
        raise InvalidData.one("body", "nothing to change")
    _refuse_nulls(data, sent)
    visit_date = data.visit_date if "visit_date" in sent and data.visit_date else visit.visit_date
    reason = data.deviation_reason if "deviation_reason" in sent else visit.deviation_reason
    others = [v for v in await repo.visits(session, ctx.participant.id) if v.id != visit.id]
    merged = _merged(visit, data, sent)
    after = {**_columns_of(visit), **merged, "labs": data.labs if "labs" in sent else visit.labs}
    facts = VisitFacts(visit.visit_day, visit_date, after["vital_status"], assessments(after))
    findings = check(ctx, facts, [v.visit_day for v in others], reason)
    assessment = await assessment_labs.after_visit_correction(
        session, principal, ctx, visit, data, visit_date
    )
    labs = assessment.labs if assessment else _stored_labs(visit.labs)
    await set_reason(session, data.reason)
    if assessment is not None:
        visit.labs = assessment.stored
    visit.visit_date = visit_date
    for name, value in merged.items():
        setattr(visit, name, value)
    visit.deviation_reason = reason if findings else None
    for name, value in scored(
        ctx.participant, visit_date, labs, visit.he_grade, visit.ascites, visit.symptoms
    ).items():
        setattr(visit, name, value)
    visit.updated_at = clock.utc_now()
    await session.flush()
    if assessment is not None:
        await assessment_labs.replace_visit_results(session, visit.id, assessment, data.reason)
    deviations = await sync_findings(
        session,
        principal,
        participant_id=ctx.participant.id,
        record_table=RECORD_TABLE,
        record_id=visit.id,
        findings=findings,
        reason=reason,
        void_reason=f"corrected: {data.reason}",
    )
    if completes(ctx.participant, visit):
        await _complete(session, ctx.participant)
    return visit, deviations, ctx


@dataclass(frozen=True, slots=True)
class VisitFacts:
    """What the visit rules look at: which visit, when, vital status, what it carries."""

    visit_day: int
    visit_date: date
    vital_status: str
    assessments: frozenset[str]


def assessments(values: VisitIn | dict[str, Any]) -> frozenset[str]:
    """The clinical fields a visit carries (a vital-status contact carries none)."""
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    return frozenset(name for name in ASSESSMENT_FIELDS if get(name) not in (None, {}))


def _columns_of(visit: Visit) -> dict[str, Any]:
    return {name: getattr(visit, name) for name in ("vital_status", *ASSESSMENT_FIELDS)}


def check(
    ctx: TreatmentContext,
    facts: VisitFacts,
    recorded_days: list[int],
    deviation_reason: str | None,
) -> list[DeviationFinding]:
    return check_visit(
        # unused when not randomized: that is refused before any date is looked at
        day1=ctx.day1 or ctx.today,
        visit_day=facts.visit_day,
        visit_date=facts.visit_date,
        today=ctx.today,
        recorded_days=recorded_days,
        outcomes=ctx.outcomes,
        vital_status=facts.vital_status,
        assessments=facts.assessments,
        deviation_reason=deviation_reason,
        participant_status=ctx.participant.status,
    )


def _refuse_nulls(data: VisitPatch, sent: set[str]) -> None:
    errors = [
        FieldError(name, "cannot be null")
        for name in ("visit_date", "vital_status")
        if name in sent and getattr(data, name) is None
    ]
    if errors:
        raise InvalidData(errors)


def _merged(visit: Visit, data: VisitPatch, sent: set[str]) -> dict[str, Any]:
    """Fields other than date, labs and deviation reason, as they are after the correction."""
    merged: dict[str, Any] = {}
    for name in ("vital_status", "he_grade", "ascites"):
        if name in sent:
            merged[name] = getattr(data, name)
    if "symptoms" in sent:
        merged["symptoms"] = data.symptoms.model_dump() if data.symptoms else None
    return merged


def _stored_labs(stored: dict[str, Any]) -> dict[str, CanonicalLab]:
    """Rebuild canonical labs from the values as entered (derived entries re-derive)."""
    entered = {
        key: Quantity(Decimal(str(lab["value"])), lab["unit"])
        for key, lab in stored.items()
        if "derived_from" not in lab
    }
    return canonicalize_labs(entered, UCUM)


def scored(
    participant: Participant | ParticipantFacts,
    visit_date: Any,
    labs: dict[str, CanonicalLab],
    he_grade: int | None,
    ascites: str | None,
    symptoms: dict[str, Any] | None,
) -> dict[str, Any]:
    age = age_in_completed_years(participant.date_of_birth, visit_date)
    results = compute_scores(
        labs=labs, he_grade=he_grade, ascites=ascites, symptoms=symptoms, age_years=age
    )
    return {"age_years": age, "scores": scores_json(results)}


def completes(participant: Participant | ParticipantFacts, visit: Visit | Any) -> bool:
    return (
        visit.visit_day == protocol.FINAL_VISIT_DAY
        and visit.vital_status == ALIVE
        and participant.status == "randomized"
    )


async def _complete(session: AsyncSession, participant: Participant | ParticipantFacts) -> None:
    assert isinstance(participant, Participant)  # the ORM paths load the ORM participant
    participant.status = "completed"
    participant.updated_at = clock.utc_now()
    await session.flush()


async def reread_labs(session: AsyncSession, ctx: TreatmentContext, visit: Visit) -> None:
    """A visit whose labs came from results reads them again (one changed); scores follow."""
    assessment = await assessment_labs.of_the_day(
        session, visit.participant_id, visit.visit_date, ctx.timezone, VISIT_ANALYTES
    )
    visit.labs = assessment.stored
    rescored = scored(
        ctx.participant,
        visit.visit_date,
        assessment.labs,
        visit.he_grade,
        visit.ascites,
        visit.symptoms,
    )
    for name, value in rescored.items():
        setattr(visit, name, value)
    visit.updated_at = clock.utc_now()
    await session.flush()


# --- reading -------------------------------------------------------------------------------------


def visit_out(visit: Visit, deviations: list[ProtocolDeviation], ctx: TreatmentContext) -> VisitOut:
    shown = [DeviationOut.model_validate(d) for d in deviations]
    return VisitOut(
        id=visit.id,
        participant_id=visit.participant_id,
        visit_day=visit.visit_day,
        visit_date=visit.visit_date,
        study_day=study_day(ctx.day1, visit.visit_date) if ctx.day1 else 0,
        vital_status=visit.vital_status,
        labs=visit.labs,
        he_grade=visit.he_grade,
        ascites=visit.ascites,
        symptoms=visit.symptoms,
        age_years=visit.age_years,
        scores=visit.scores,
        deviation_reason=visit.deviation_reason,
        deviation=shown[0] if shown else None,
        deviations=shown,
        participant_status=ctx.participant.status,
        version=visit.version,
        created_at=visit.created_at,
        updated_at=visit.updated_at,
    )


async def get_visit(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, visit_id: uuid.UUID
) -> VisitOut:
    ctx = await load_context(session, principal, participant_id)
    visit = await repo.visit(session, ctx.participant.id, visit_id)
    if visit is None:
        raise NotFound("No such visit")
    linked = await repo.deviations_of(session, RECORD_TABLE, [visit.id])
    return visit_out(visit, linked.get(visit.id, []), ctx)


async def visits_with_schedule(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID
) -> VisitsOut:
    """The schedule (baseline first) with statuses, and the visits recorded."""
    ctx = await load_context(session, principal, participant_id)
    visits = await repo.visits(session, ctx.participant.id)
    linked = await repo.deviations_of(session, RECORD_TABLE, [v.id for v in visits])
    out = VisitsOut(
        participant_id=ctx.participant.id,
        day1=ctx.day1,
        today=ctx.today,
        schedule=[],
        visits=[visit_out(v, linked.get(v.id, []), ctx) for v in visits],
    )
    if ctx.allocation is None or ctx.day1 is None:
        return out
    baseline = await repo.baseline_screening(
        session, ctx.participant.id, ctx.allocation.randomized_at
    )
    by_day = {v.visit_day: v for v in visits}
    slots = visit_schedule(
        day1=ctx.day1,
        recorded={day: v.visit_date for day, v in by_day.items()},
        outcomes=ctx.outcomes,
        today=ctx.today,
        baseline_date=baseline.assessment_date if baseline else None,
    )
    out.schedule = [
        VisitSlotOut(
            visit_day=s.visit_day,
            target_date=s.target_date,
            window_start=s.window_start,
            window_end=s.window_end,
            status=s.status,
            visit_date=s.visit_date,
            visit_id=by_day[s.visit_day].id if s.visit_day in by_day else None,
            screening_id=baseline.id if s.visit_day is None and baseline else None,
        )
        for s in slots
    ]
    return out
