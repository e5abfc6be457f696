"""The trial (ResearchStudy), its participants (ResearchSubject) and their Patients."""

from __future__ import annotations

from datetime import date

from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.researchstudy import ResearchStudy, ResearchStudyArm, ResearchStudyObjective
from fhir.resources.R4B.researchsubject import ResearchSubject

from app.domain import protocol
from app.domain.study_days import study_day
from app.interop.fhir.common import concept, meta, narrative, patient_ref, ref, text_concept
from app.interop.fhir.records import SubjectRecord
from app.interop.fhir.terminology import (
    ARMS,
    IDENTIFIER_TYPE,
    PROTOCOL_SYSTEM,
    STUDY_ID,
    STUDY_ID_SYSTEM,
    STUDY_OBJECTIVE_TYPE,
    STUDY_PURPOSE,
)

TREATMENT_PERIOD_LAST_DAY = max(w.target_day for w in protocol.DOSE_WINDOWS.values())  # Day 10

# SPEC §10: participant status -> research-subject-status (R4, required binding)
_FIXED_STATUS = {
    "screening": "candidate",
    "screen_failed": "ineligible",
    "eligible": "eligible",
    "liver_transplant": "follow-up",  # survival is still followed
    "treatment_abandoned": "follow-up",
    "completed": "off-study",
    "died": "off-study",
    "lost_to_follow_up": "off-study",
    "withdrawn": "withdrawn",
}
ARM_DESCRIPTIONS = {
    "control": "Standard medical treatment (SMT): antiviral therapy, hepatoprotective drugs and"
    " symptomatic support; artificial liver support or liver transplantation at the"
    " investigator's judgment",
    "exosome": f"SMT plus {protocol.PRODUCT_NAME} 2x10^11 particles in 100 mL normal saline,"
    " IV over at least 2 hours, on Day 1, 4, 7 and 10",
}


def subject_status(status: str, day1: date | None, today: date) -> str:
    """`randomized` is on-study-intervention through Day 10 (the treatment period), then
    follow-up; every other status maps to one code."""
    if status == "randomized":
        if day1 is not None and study_day(day1, today) > TREATMENT_PERIOD_LAST_DAY:
            return "follow-up"
        return "on-study-intervention"
    return _FIXED_STATUS[status]


def research_study() -> ResearchStudy:
    return ResearchStudy(
        id=STUDY_ID,
        text=narrative(
            f"{protocol.TRIAL_CODE}: {protocol.PRODUCT_NAME} in ACLF, arms control and exosome"
        ),
        identifier=[Identifier(system=PROTOCOL_SYSTEM, value=protocol.TRIAL_CODE)],
        title=f"{protocol.PRODUCT_NAME} in acute-on-chronic liver failure (ACLF): a"
        " single-center, prospective, randomized, open-label exploratory trial",
        status="active",
        primaryPurposeType=concept(STUDY_PURPOSE, "treatment", "Treatment"),
        condition=[text_concept("Acute-on-chronic liver failure (ACLF)")],
        description=(
            "Safety and efficacy of PT-MSCs Exosome Injection added to standard medical"
            " treatment in ACLF (2024 Chinese Liver Failure Clinical Guidelines), COSSH-ACLF II"
            f" < 7.4, age 18-65; {protocol.ENROLLMENT_TARGET} participants randomized 1:1 in"
            " permuted blocks."
        ),
        arm=[ResearchStudyArm(name=arm, description=ARM_DESCRIPTIONS[arm]) for arm in ARMS],
        objective=[
            ResearchStudyObjective(
                name="12-week survival",
                type=concept(STUDY_OBJECTIVE_TYPE, "primary", "Primary"),
            )
        ],
    )


def research_subject(record: SubjectRecord) -> ResearchSubject:
    status = subject_status(record.status, record.day1, record.today)
    arm = f", arm {record.arm}" if record.arm else ""
    return ResearchSubject(
        id=str(record.participant_id),
        meta=meta(record.meta),
        text=narrative(f"Participant {record.study_id}: {status}{arm}"),
        identifier=[Identifier(system=STUDY_ID_SYSTEM, value=record.study_id)],
        status=status,
        period=_period(record),
        study=ref("ResearchStudy", STUDY_ID),
        individual=patient_ref(record.participant_id),
        assignedArm=record.arm,
        actualArm=actual_arm(record),
    )


def actual_arm(record: SubjectRecord) -> str | None:
    """What the participant received: control is SMT; exosome once a dose was administered
    (an exosome participant never dosed has no actual arm: not in the safety set)."""
    if record.arm == "control":
        return "control"
    if record.arm == "exosome" and record.treated:
        return "exosome"
    return None


def _period(record: SubjectRecord) -> Period | None:
    if record.day1 is None:
        return None
    return Period(start=record.day1, end=record.ended_on)


def patient(record: SubjectRecord) -> Patient:
    """Pseudonymous: the study id, birth date and gender; the site's MRN only when the
    record carries it (the service fills it for the site's own roles and admin)."""
    identifiers = [Identifier(use="official", system=STUDY_ID_SYSTEM, value=record.study_id)]
    if record.mrn is not None:
        identifiers.append(
            Identifier(
                use="usual",
                type=concept(IDENTIFIER_TYPE, "MR", "Medical record number"),
                system=record.mrn.system,
                value=record.mrn.value,
            )
        )
    return Patient(
        id=str(record.participant_id),
        meta=meta(record.meta),
        text=narrative(
            f"Study participant {record.study_id}, {record.sex}, born {record.date_of_birth}"
        ),
        identifier=identifiers,
        gender=record.sex,  # male | female: administrative-gender codes
        birthDate=record.date_of_birth,
    )
