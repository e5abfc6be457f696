"""Screening with eligibility (SPEC §2.1), on the driver connection.

The rules are the domain's (`app.domain.eligibility`, the scores); this module locks the
participant, gathers the labs (typed with the request, or the results of the assessment date:
`app.services.assessment_labs`), decides, and writes the screening, its typed lab results and
the participant's new status in one statement (app/db/repositories/screening_rows.py).
"""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.repositories import participants as participants_repo
from app.db.repositories import screening_rows as rows
from app.db.request_db import RequestDb
from app.domain.eligibility import EligibilityDecision, assess_eligibility
from app.domain.errors import InvalidData, NotFound, StateConflict
from app.domain.lab_results import assessment_collected_at
from app.domain.scores import symptom_score
from app.schemas.common import PageOut
from app.schemas.participants import ScreeningIn, ScreeningOut
from app.services import assessment_labs
from app.services.access import visible_site_filter
from app.services.assessment_labs import AssessmentLabs
from app.services.participant_view import screening_out
from app.services.participants import visible
from app.services.scoring import canonical, score_json, scores_json, to_quantities

SCREENABLE = frozenset({"screening", "eligible"})


async def screen(
    db: RequestDb, principal: Principal, participant_id: uuid.UUID, data: ScreeningIn
) -> ScreeningOut:
    participant = await rows.lock(db.conn, participant_id, visible_site_filter(principal))
    if participant is None:
        raise NotFound("No such participant")
    if participant["status"] not in SCREENABLE:
        raise StateConflict(f"A participant in status '{participant['status']}' cannot be screened")
    if data.assessment_date > clock.latest_local_date():
        raise InvalidData.one("assessment_date", "must not be in the future")
    zone = ZoneInfo(participant["timezone"])
    assessment = await _labs(db, principal, participant_id, data, zone)
    uln = _uln(data, assessment)
    decision = assess_eligibility(
        date_of_birth=participant["date_of_birth"],
        assessment_date=data.assessment_date,
        labs=assessment.labs,
        tbil_uln_umol_l=uln,
        he_grade=data.he_grade,
        ascites=data.ascites,
        aclf_diagnosis_confirmed=data.aclf_diagnosis_confirmed,
    )
    screening = _record(participant_id, principal, data, assessment, decision, uln)
    status = "eligible" if decision.eligible else "screen_failed"
    await rows.write(
        db.conn,
        screening,
        assessment.new_results,
        collected_at=assessment_collected_at(data.assessment_date, zone),
        status=status,
        now=clock.utc_now(),
    )
    return ScreeningOut(
        status=status,
        **{k: screening[k] for k in ScreeningOut.model_fields if k != "status"},
    )


async def _labs(
    db: RequestDb,
    principal: Principal,
    participant_id: uuid.UUID,
    data: ScreeningIn,
    zone: ZoneInfo,
) -> AssessmentLabs:
    """Typed labs (the usual case, no query), or the results of the assessment date."""
    if data.labs is not None:
        return assessment_labs.typed(
            to_quantities(data.labs),
            participant_id=participant_id,
            principal=principal,
            day=data.assessment_date,
            zone=zone,
            source="screening",
        )
    session = await db.session()
    return await assessment_labs.for_screening(
        session, principal, participant_id, None, data.assessment_date, zone
    )


def _uln(data: ScreeningIn, assessment: AssessmentLabs) -> Any:
    """The ULN sent with the request, else the one of the day's bilirubin result."""
    if data.total_bilirubin_uln is None:
        return assessment.uln_umol_l
    typed = canonical({"total_bilirubin": data.total_bilirubin_uln}, "total_bilirubin_uln")
    return typed["total_bilirubin"].value


def _record(
    participant_id: uuid.UUID,
    principal: Principal,
    data: ScreeningIn,
    assessment: AssessmentLabs,
    decision: EligibilityDecision,
    uln: Any,
) -> dict[str, Any]:
    scores = scores_json(decision.scores)
    symptoms = data.symptoms.model_dump() if data.symptoms else None
    if symptoms is not None:
        scores["symptom_score"] = score_json(symptom_score(**symptoms))
    return {
        "id": uuid.uuid4(),
        "participant_id": participant_id,
        "assessment_date": data.assessment_date,
        "labs": assessment.stored,
        "tbil_uln_umol_l": uln,
        "he_grade": data.he_grade,
        "ascites": data.ascites,
        "aclf_diagnosis_confirmed": data.aclf_diagnosis_confirmed,
        "age_years": decision.age_years,
        "eligible": decision.eligible,
        "reasons": decision.reasons,
        "scores": scores,
        "symptoms": symptoms,
        "created_by": principal.user_id,
    }


async def of_participant(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID
) -> list[ScreeningOut]:
    """Every screening of a participant the caller may see, oldest first."""
    participant = await visible(session, principal, participant_id)
    found = await participants_repo.screenings(session, participant.id)
    return [screening_out(s, participant) for s in found]


async def decisions(
    session: AsyncSession, principal: Principal, *, eligible: bool | None, limit: int, offset: int
) -> PageOut[ScreeningOut]:
    """Screening decisions across the caller's participants (screen failures: eligible=False)."""
    found, total = await participants_repo.list_screenings(
        session,
        site_id=visible_site_filter(principal),
        eligible=eligible,
        limit=limit,
        offset=offset,
    )
    items = [screening_out(s, p) for s, p in found]
    return PageOut[ScreeningOut](items=items, total=total, limit=limit, offset=offset)
