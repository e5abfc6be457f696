"""Visits (Encounter), doses (MedicationAdministration) and adverse events (AdverseEvent)."""

from __future__ import annotations

from fhir.resources.R4B.adverseevent import (
    AdverseEvent,
    AdverseEventSuspectEntity,
    AdverseEventSuspectEntityCausality,
)
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.medication import Medication, MedicationBatch
from fhir.resources.R4B.medicationadministration import (
    MedicationAdministration,
    MedicationAdministrationDosage,
)
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.reference import Reference

from app.domain.protocol import PRODUCT_NAME
from app.interop.fhir.common import (
    coding,
    concept,
    meta,
    narrative,
    patient_ref,
    ref,
    text_concept,
    ucum,
    utc,
)
from app.interop.fhir.records import AdverseEventRecord, DoseRecord, VisitRecord
from app.interop.fhir.terminology import (
    AE_CAUSALITY,
    AE_OUTCOME,
    AE_SERIOUSNESS,
    AE_SEVERITY,
    INTRAVENOUS_ROUTE,
    MEDDRA,
    NULL_FLAVOR,
    PRODUCT_SYSTEM,
    STUDY_ID,
    VISIT_SYSTEM,
)
from app.interop.fhir.terminology import PRODUCT_DISPLAY as PRODUCT

PRODUCT_REF = "product"  # id of the contained Medication

# --- Encounter (visits) -----------------------------------------------------------------------


def encounter(record: VisitRecord) -> Encounter:
    """A protocol visit. Where it took place (ward, clinic, phone) is not recorded: the class
    is v3-NullFlavor UNK rather than a guess."""
    return Encounter(
        id=str(record.id),
        meta=meta(record.meta),
        text=narrative(f"Day {record.visit_day} visit on {record.visit_date}"),
        status="entered-in-error" if record.voided else "finished",
        class_fhir=coding(NULL_FLAVOR, "UNK", "unknown"),
        type=[concept(VISIT_SYSTEM, f"day-{record.visit_day}", f"Day {record.visit_day} visit")],
        subject=patient_ref(record.participant_id),
        period=Period(start=record.visit_date, end=record.visit_date),
    )


# --- MedicationAdministration (doses) ---------------------------------------------------------


def _product(lot_number: str | None) -> Medication:
    return Medication(
        id=PRODUCT_REF,
        code=concept(PRODUCT_SYSTEM, STUDY_ID, PRODUCT),
        batch=MedicationBatch(lotNumber=lot_number) if lot_number else None,
    )


def dose_status(record: DoseRecord) -> str:
    if record.voided:
        return "entered-in-error"
    return "completed" if record.status == "given" else "not-done"


def medication_administration(record: DoseRecord) -> MedicationAdministration:
    given = record.status == "given"
    dosage = None
    if given and record.particles is not None:
        minutes = (
            round((record.ended_at - record.started_at).total_seconds() / 60)
            if record.started_at and record.ended_at
            else None
        )
        text = f"Dose {record.dose_number}: {record.particles:,} particles"
        if record.volume_ml is not None:
            text += f" in {record.volume_ml.normalize():f} mL normal saline"
        if minutes is not None:
            text += f", IV infusion over {minutes} min"
        dosage = MedicationAdministrationDosage(
            text=text,
            route=concept(*INTRAVENOUS_ROUTE),
            dose=ucum(record.particles, "{particles}", "particles"),
        )
    effective: dict[str, object] = {}
    if given and record.started_at is not None:
        effective["effectivePeriod"] = Period(
            start=utc(record.started_at), end=utc(record.ended_at) if record.ended_at else None
        )
    else:  # not given: the dose's planned study day (effective[x] is required)
        effective["effectiveDateTime"] = record.planned_on
    status = dose_status(record)
    return MedicationAdministration(
        id=str(record.id),
        meta=meta(record.meta),
        text=narrative(f"{PRODUCT_NAME} dose {record.dose_number}: {status}"),
        contained=[_product(record.lot_number)],
        status=status,
        statusReason=(
            [text_concept(record.not_given_reason)]
            if not given and record.not_given_reason
            else None
        ),
        medicationReference=Reference(reference=f"#{PRODUCT_REF}", display=PRODUCT_NAME),
        subject=patient_ref(record.participant_id),
        dosage=dosage,
        **effective,
    )


# --- AdverseEvent -----------------------------------------------------------------------------

SEVERITY_BY_GRADE = {1: "mild", 2: "moderate", 3: "severe", 4: "severe", 5: "severe"}
OUTCOME = {
    "recovered": "resolved",
    "recovering": "recovering",
    "not_recovered": "ongoing",
    "recovered_with_sequelae": "resolvedWithSequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}
# WHO-UMC terms of adverse-event-causality-assess; `not_related` has none (text only).
CAUSALITY = {
    "definite": ("Certain", "Certain"),
    "probable": ("Probably-Likely", "Probably/Likely"),
    "possible": ("Possible", "Possible"),
    "unlikely": ("Unlikely", "Unlikely"),
}


def _seriousness(record: AdverseEventRecord) -> CodeableConcept:
    if not record.serious:
        return concept(AE_SERIOUSNESS, "Non-serious", "Non-serious")
    criteria = ", ".join(c.replace("_", " ") for c in record.seriousness_criteria)
    return concept(AE_SERIOUSNESS, "Serious", "Serious", text=f"serious: {criteria}")


def _suspect(record: AdverseEventRecord) -> list[AdverseEventSuspectEntity] | None:
    if not record.study_drug_suspected:
        return None
    instance = (
        ref("MedicationAdministration", record.dose_id)
        if record.dose_id
        else Reference(reference=f"#{PRODUCT_REF}", display=PRODUCT_NAME)
    )
    assessment = CAUSALITY.get(record.relatedness)
    causality = AdverseEventSuspectEntityCausality(
        assessment=(
            concept(AE_CAUSALITY, *assessment)
            if assessment
            else text_concept(record.relatedness.replace("_", " "))
        ),
        productRelatedness=record.relatedness,
    )
    return [AdverseEventSuspectEntity(instance=instance, causality=[causality])]


def adverse_event(record: AdverseEventRecord) -> AdverseEvent:
    """Seriousness, CTCAE grade as severity (1 mild, 2 moderate, 3-5 severe; the grade in
    the text), outcome, the study drug as suspect entity (with the site's causality), the
    study. Expectedness has no R4 element (the API has it)."""
    suspects = _suspect(record)
    event_codings = [coding(MEDDRA, record.meddra_pt_code)] if record.meddra_pt_code else None
    contained = None
    if suspects is not None and record.dose_id is None:
        contained = [_product(None)]
    seriousness = "serious" if record.serious else "non-serious"
    return AdverseEvent(
        id=str(record.id),
        meta=meta(record.meta),
        text=narrative(
            f"{record.term}: {seriousness}, CTCAE grade {record.ctcae_grade}, onset"
            f" {record.onset_date}, outcome {record.outcome.replace('_', ' ')}"
        ),
        contained=contained,
        actuality="actual",
        event=CodeableConcept(coding=event_codings, text=record.term),
        subject=patient_ref(record.participant_id),
        date=record.onset_date,
        detected=utc(record.aware_at),
        recordedDate=utc(record.recorded_at),
        seriousness=_seriousness(record),
        severity=concept(
            AE_SEVERITY,
            SEVERITY_BY_GRADE[record.ctcae_grade],
            text=f"CTCAE grade {record.ctcae_grade}",
        ),
        outcome=concept(AE_OUTCOME, OUTCOME[record.outcome]),
        suspectEntity=suspects,
        study=[ref("ResearchStudy", STUDY_ID)],
    )
