"""Participants: enrolment at a site, screening with eligibility, consent, corrections."""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import Consent, Participant, Screening
from app.db.repositories import participants as repo
from app.db.repositories import treatment as treatment_repo
from app.domain.eligibility import assess_eligibility
from app.domain.errors import InvalidData, NotFound, StateConflict
from app.domain.scores import symptom_score
from app.schemas.participants import ConsentIn, ParticipantPatch, ScreeningIn
from app.services import assessment_labs
from app.services.assessment_labs import AssessmentLabs
from app.services.scoring import canonical, score_json, scores_json, to_quantities
from app.services.versions import check_version

SCREENABLE = frozenset({"screening", "eligible"})
CONSENTABLE = frozenset({"screening", "eligible", "randomized"})


async def visible(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, *, lock: bool = False
) -> Participant:
    """Another site's participant is indistinguishable from a missing one (404)."""
    load = repo.get_for_update if lock else repo.get
    participant = await load(session, participant_id)
    if participant is None or not principal.can_see_site(participant.site_id):
        raise NotFound("No such participant")
    return participant


async def correct(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    data: ParticipantPatch,
    expected_version: int,
) -> Participant:
    participant = await visible(session, principal, participant_id, lock=True)
    check_version(expected_version, participant.version)
    changes = data.model_dump(exclude_unset=True, exclude={"reason"})
    if not changes:
        raise InvalidData.one("body", "nothing to change")
    if "date_of_birth" in changes and participant.status != "screening":
        raise StateConflict(
            "date_of_birth decided eligibility; after screening, correct it by re-screening"
            " a new participant record or contact the data manager"
        )
    await set_reason(session, data.reason)
    for name, value in changes.items():
        setattr(participant, name, value)
    participant.updated_at = clock.utc_now()
    await session.flush()
    return participant


async def screen(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, data: ScreeningIn
) -> tuple[Screening, Participant]:
    participant = await visible(session, principal, participant_id, lock=True)
    if participant.status not in SCREENABLE:
        raise StateConflict(f"A participant in status '{participant.status}' cannot be screened")
    if data.assessment_date > clock.latest_local_date():
        raise InvalidData.one("assessment_date", "must not be in the future")
    assessment = await _screening_labs(session, principal, participant, data)
    labs = assessment.labs
    uln = (
        canonical({"total_bilirubin": data.total_bilirubin_uln}, "total_bilirubin_uln")
        if (data.total_bilirubin_uln)
        else None
    )
    uln_umol_l = uln["total_bilirubin"].value if uln else assessment.uln_umol_l
    decision = assess_eligibility(
        date_of_birth=participant.date_of_birth,
        assessment_date=data.assessment_date,
        labs=labs,
        tbil_uln_umol_l=uln_umol_l,
        he_grade=data.he_grade,
        ascites=data.ascites,
        aclf_diagnosis_confirmed=data.aclf_diagnosis_confirmed,
    )
    scores = scores_json(decision.scores)
    if data.symptoms is not None:
        scores["symptom_score"] = score_json(symptom_score(**data.symptoms.model_dump()))
    screening = Screening(
        participant_id=participant.id,
        assessment_date=data.assessment_date,
        labs=assessment.stored,
        tbil_uln_umol_l=uln_umol_l,
        he_grade=data.he_grade,
        ascites=data.ascites,
        aclf_diagnosis_confirmed=data.aclf_diagnosis_confirmed,
        age_years=decision.age_years,
        eligible=decision.eligible,
        reasons=decision.reasons,
        scores=scores,
        symptoms=data.symptoms.model_dump() if data.symptoms else None,
        created_by=principal.user_id,
    )
    session.add(screening)
    participant.status = "eligible" if decision.eligible else "screen_failed"
    participant.updated_at = clock.utc_now()
    await session.flush()
    await assessment_labs.attach(session, assessment, screening_id=screening.id)
    return screening, participant


async def _screening_labs(
    session: AsyncSession, principal: Principal, participant: Participant, data: ScreeningIn
) -> AssessmentLabs:
    """Typed labs (stored as results), or the results collected on the assessment date."""
    zone = ZoneInfo(await treatment_repo.site_timezone(session, participant.site_id))
    quantities = to_quantities(data.labs) if data.labs is not None else None
    return await assessment_labs.for_screening(
        session, principal, participant.id, quantities, data.assessment_date, zone
    )


async def consent(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, data: ConsentIn
) -> Consent:
    participant = await visible(session, principal, participant_id, lock=True)
    if participant.status not in CONSENTABLE:
        raise StateConflict(f"Consent cannot be recorded in status '{participant.status}'")
    if data.consent_date > clock.latest_local_date():
        raise InvalidData.one("consent_date", "must not be in the future")
    if data.consent_date < participant.date_of_birth:
        raise InvalidData.one("consent_date", "is before the date of birth")
    record = Consent(
        participant_id=participant.id,
        consent_date=data.consent_date,
        form_version=data.form_version,
        created_by=principal.user_id,
    )
    session.add(record)
    await session.flush()
    return record


def today() -> date:
    return clock.utc_now().date()
