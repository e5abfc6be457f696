"""Recording a follow-up visit (SPEC §2.5), on the driver connection: the hot write path.

One locked statement reads the treatment context (app/services/deviations.py); the rules
decide (`app.domain.visits`, via `visits.check`); the scores are computed with the age on
the visit date; one statement writes the visit, its typed lab results and its protocol
deviations. Recording the Day 84 visit alive completes a `randomized` participant (a second
statement, audited with its own reason). Labs sent as absent take the results of the visit
date, which is the one part still read through the ORM session.
"""

from __future__ import annotations

import uuid
from typing import Any

from app import clock
from app.auth import Principal
from app.db.repositories import visit_rows
from app.db.request_db import RequestDb
from app.domain import webhooks
from app.domain.deviations import DeviationFinding
from app.domain.lab_results import assessment_collected_at
from app.domain.study_days import study_day
from app.domain.visits import DEAD
from app.schemas.treatment import DeviationOut, VisitIn, VisitOut
from app.services import assessment_labs
from app.services.assessment_labs import AssessmentLabs
from app.services.deviations import TreatmentContext, load_context_row
from app.services.events import record_event
from app.services.scoring import to_quantities
from app.services.visits import (
    COMPLETION_REASON,
    RECORD_TABLE,
    VisitFacts,
    assessments,
    check,
    completes,
    scored,
)


async def record(
    db: RequestDb, principal: Principal, participant_id: uuid.UUID, data: VisitIn
) -> VisitOut:
    ctx, row = await load_context_row(db, principal, participant_id)
    facts = VisitFacts(data.visit_day, data.visit_date, data.vital_status, assessments(data))
    findings = check(ctx, facts, list(row["visit_days"] or ()), data.deviation_reason)
    assessment = await _labs(db, principal, ctx, data)
    symptoms = data.symptoms.model_dump() if data.symptoms else None
    visit = {
        "id": uuid.uuid4(),
        "participant_id": ctx.participant.id,
        "visit_day": data.visit_day,
        "visit_date": data.visit_date,
        "vital_status": data.vital_status,
        "labs": assessment.stored,
        "he_grade": data.he_grade,
        "ascites": data.ascites,
        "symptoms": symptoms,
        "deviation_reason": data.deviation_reason if findings else None,
        "created_by": principal.user_id,
        **scored(
            ctx.participant, data.visit_date, assessment.labs, data.he_grade, data.ascites, symptoms
        ),
    }
    deviations = [_deviation(f) for f in findings]
    written = await visit_rows.write(
        db.conn,
        visit,
        assessment.new_results,
        deviations,
        collected_at=assessment_collected_at(data.visit_date, ctx.timezone),
    )
    await record_event(
        db.conn,
        webhooks.VISIT_RECORDED,
        ctx.participant.id,
        {k: visit[k] for k in ("id", "visit_day", "visit_date", "vital_status")},
    )
    status = ctx.participant.status
    if completes(ctx.participant, data):
        await visit_rows.complete(db.conn, ctx.participant.id, clock.utc_now(), COMPLETION_REASON)
        status = "completed"
    return _out(visit, written, deviations, ctx, status)


async def _labs(
    db: RequestDb, principal: Principal, ctx: TreatmentContext, data: VisitIn
) -> AssessmentLabs:
    """Typed labs (no query); none for a visit finding the participant dead; otherwise the
    results of the visit date."""
    if data.labs is not None or data.vital_status == DEAD:
        return assessment_labs.typed(
            to_quantities(data.labs or {}),
            participant_id=ctx.participant.id,
            principal=principal,
            day=data.visit_date,
            zone=ctx.timezone,
            source=RECORD_TABLE[:-1],
        )
    session = await db.session()
    return await assessment_labs.for_visit_request(session, principal, ctx, None, data.visit_date)


def _deviation(finding: DeviationFinding) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "kind": finding.kind,
        "rule": finding.rule,
        "detail": finding.detail,
    }


def _out(
    visit: dict[str, Any],
    written: Any,
    deviations: list[dict[str, Any]],
    ctx: TreatmentContext,
    status: str,
) -> VisitOut:
    shown = [
        DeviationOut(
            participant_id=visit["participant_id"],
            reason=visit["deviation_reason"] or "",
            record_table=RECORD_TABLE,
            record_id=visit["id"],
            created_at=written["deviations_at"],
            **d,
        )
        for d in deviations
    ]
    return VisitOut(
        study_day=study_day(ctx.day1, visit["visit_date"]) if ctx.day1 else 0,
        deviation=shown[0] if shown else None,
        deviations=shown,
        participant_status=status,
        version=1,
        created_at=written["created_at"],
        updated_at=None,
        **{k: visit[k] for k in VisitOut.model_fields if k in visit},
    )
