"""Read models the services fill and the mappers turn into FHIR resources (plain data)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Mrn:
    """The site's medical record number of a participant (shown to whom may see it only)."""

    system: str
    value: str


@dataclass(frozen=True, slots=True)
class Meta:
    version: int
    last_updated: datetime


@dataclass(frozen=True, slots=True)
class SubjectRecord:
    """A participant as ResearchSubject and Patient see it."""

    participant_id: uuid.UUID
    study_id: str
    date_of_birth: date
    sex: str
    status: str
    meta: Meta
    today: date  # at the participant's site
    arm: str | None = None
    day1: date | None = None
    treated: bool = False  # at least one administered dose
    ended_on: date | None = None  # terminal outcome, withdrawal or completion
    mrn: Mrn | None = None


@dataclass(frozen=True, slots=True)
class LabRecord:
    id: uuid.UUID
    participant_id: uuid.UUID
    analyte: str
    loinc: str
    canonical_value: Decimal
    canonical_unit: str
    collected_at: datetime
    reference_high_canonical: Decimal | None
    source: str
    meta: Meta
    created_at: datetime
    voided: bool = False
    visit_id: uuid.UUID | None = None
    identifier: tuple[str, str] | None = None  # (system, value) of an ingested Observation


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    """One stored score of a screening (baseline) or visit."""

    record_kind: str  # screening | visit
    record_id: uuid.UUID
    participant_id: uuid.UUID
    key: str  # cossh_aclf_ii | child_pugh | symptom_score
    stored: dict[str, Any]  # {score, version, risk/class, ...}
    day: date
    meta: Meta
    lab_result_ids: tuple[uuid.UUID, ...] = ()
    voided: bool = False


@dataclass(frozen=True, slots=True)
class VisitRecord:
    id: uuid.UUID
    participant_id: uuid.UUID
    visit_day: int
    visit_date: date
    meta: Meta
    voided: bool = False


@dataclass(frozen=True, slots=True)
class DoseRecord:
    id: uuid.UUID
    participant_id: uuid.UUID
    dose_number: int
    status: str  # given | not_administered
    planned_on: date | None
    meta: Meta
    started_at: datetime | None = None
    ended_at: datetime | None = None
    particles: int | None = None
    volume_ml: Decimal | None = None
    lot_number: str | None = None
    not_given_reason: str | None = None
    voided: bool = False


@dataclass(frozen=True, slots=True)
class AdverseEventRecord:
    id: uuid.UUID
    participant_id: uuid.UUID
    term: str
    onset_date: date
    ctcae_grade: int
    serious: bool
    seriousness_criteria: tuple[str, ...]
    relatedness: str
    outcome: str
    aware_at: datetime
    recorded_at: datetime
    meta: Meta
    meddra_pt_code: str | None = None
    dose_id: uuid.UUID | None = None
    study_drug_suspected: bool = False  # exosome arm, or linked to a dose
    end_date: date | None = None
