"""Database rows -> the read models of app/interop/fhir/records.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from app import clock
from app.db.models import AdverseEvent, Dose, LabResult, Participant, Screening, Visit
from app.domain.protocol import DOSE_WINDOWS
from app.domain.study_days import date_of_study_day
from app.interop.fhir.records import (
    AdverseEventRecord,
    DoseRecord,
    LabRecord,
    Meta,
    Mrn,
    ScoreRecord,
    SubjectRecord,
    VisitRecord,
)
from app.interop.fhir.terminology import SCORE_CODES

# the labs each score is computed from (their results are the score's derivedFrom)
SCORE_INPUTS = {
    "cossh_aclf_ii": ("inr", "neutrophils", "total_bilirubin", "urea"),
    "child_pugh": ("total_bilirubin", "albumin", "inr"),
    "symptom_score": (),
}


def _meta(record: Any) -> Meta:
    return Meta(record.version, record.updated_at or record.created_at)


def subject(row: Any, mrn: Mrn | None) -> SubjectRecord:
    """A row of `repositories.fhir.subject_query()`."""
    p: Participant = row[0]
    today = clock.utc_now().astimezone(ZoneInfo(row.timezone)).date()
    return SubjectRecord(
        participant_id=p.id,
        study_id=p.study_id,
        date_of_birth=p.date_of_birth,
        sex=p.sex,
        status=p.status,
        meta=_meta(p),
        today=today,
        arm=row.arm,
        day1=row.day1,
        treated=bool(row.treated),
        ended_on=row.ended_on,
        mrn=mrn,
    )


def lab(result: LabResult) -> LabRecord:
    identifier = None
    if result.fhir_identifier_system and result.fhir_identifier_value:
        identifier = (result.fhir_identifier_system, result.fhir_identifier_value)
    return LabRecord(
        id=result.id,
        participant_id=result.participant_id,
        analyte=result.analyte,
        loinc=result.loinc,
        canonical_value=result.canonical_value,
        canonical_unit=result.canonical_unit,
        collected_at=result.collected_at,
        reference_high_canonical=result.reference_range_high_canonical,
        source=result.source,
        meta=_meta(result),
        created_at=result.created_at,
        voided=result.voided_at is not None,
        visit_id=result.visit_id,
        identifier=identifier,
    )


def _inputs(labs: dict[str, Any], key: str) -> tuple[uuid.UUID, ...]:
    ids: list[uuid.UUID] = []
    for analyte in SCORE_INPUTS.get(key, ()):
        raw = (labs.get(analyte) or {}).get("lab_result_id")
        if raw and uuid.UUID(raw) not in ids:
            ids.append(uuid.UUID(raw))
    return tuple(ids)


def visit_scores(visit: Visit, only: str | None = None) -> Iterator[ScoreRecord]:
    for key, stored in (visit.scores or {}).items():
        if key in SCORE_CODES and only in (None, key):
            yield ScoreRecord(
                record_kind="visit",
                record_id=visit.id,
                participant_id=visit.participant_id,
                key=key,
                stored=stored,
                day=visit.visit_date,
                meta=_meta(visit),
                lab_result_ids=_inputs(visit.labs or {}, key),
                voided=visit.voided_at is not None,
            )


def screening_scores(screening: Screening, only: str | None = None) -> Iterator[ScoreRecord]:
    for key, stored in (screening.scores or {}).items():
        if key in SCORE_CODES and only in (None, key):
            yield ScoreRecord(
                record_kind="screening",
                record_id=screening.id,
                participant_id=screening.participant_id,
                key=key,
                stored=stored,
                day=screening.assessment_date,
                meta=Meta(1, screening.created_at),  # a screening is never changed
                lab_result_ids=_inputs(screening.labs or {}, key),
            )


def visit(v: Visit) -> VisitRecord:
    return VisitRecord(
        id=v.id,
        participant_id=v.participant_id,
        visit_day=v.visit_day,
        visit_date=v.visit_date,
        meta=_meta(v),
        voided=v.voided_at is not None,
    )


def dose(d: Dose, day1: date | None) -> DoseRecord:
    planned = date_of_study_day(day1, DOSE_WINDOWS[d.dose_number].target_day) if day1 else None
    return DoseRecord(
        id=d.id,
        participant_id=d.participant_id,
        dose_number=d.dose_number,
        status=d.status,
        planned_on=planned,
        meta=_meta(d),
        started_at=d.started_at,
        ended_at=d.ended_at,
        particles=d.particles,
        volume_ml=d.volume_ml,
        lot_number=d.lot_number,
        not_given_reason=d.not_given_reason,
        voided=d.voided_at is not None,
    )


def adverse_event(ae: AdverseEvent, arm: str | None) -> AdverseEventRecord:
    return AdverseEventRecord(
        id=ae.id,
        participant_id=ae.participant_id,
        term=ae.term,
        onset_date=ae.onset_date,
        ctcae_grade=ae.ctcae_grade,
        serious=ae.serious,
        seriousness_criteria=tuple(ae.seriousness_criteria or ()),
        relatedness=ae.relatedness,
        outcome=ae.outcome,
        aware_at=ae.aware_at,
        recorded_at=ae.created_at,
        meta=_meta(ae),
        meddra_pt_code=ae.meddra_pt_code,
        dose_id=ae.dose_id,
        study_drug_suspected=arm == "exosome" or ae.dose_id is not None,
        end_date=ae.end_date,
    )
