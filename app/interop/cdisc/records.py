"""The service's records as the CDISC mappers read them: plain, frozen read models.

The export service fills these from the database (voided records left out, corrections at
their current values); the mappers turn them into SDTM rows and know nothing of SQLAlchemy.
Times are timezone-aware; the participant's `timezone` (its site's) turns them into the
site-local dates and times that SDTM `--DTC` variables carry.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Screening:
    id: uuid.UUID
    assessment_date: date
    created_at: datetime
    eligible: bool
    reasons: tuple[str, ...]  # "<code>: <text>" (app.domain.eligibility)
    he_grade: int | None
    ascites: str | None
    symptoms: Mapping[str, int] | None
    labs: Mapping[str, Any]  # stored JSON: {analyte: {value, unit, canonical_value, ...}}
    scores: Mapping[str, Any]  # stored JSON: {name: {score, version, ...}}


@dataclass(frozen=True, slots=True)
class Consent:
    id: uuid.UUID
    consent_date: date
    form_version: str


@dataclass(frozen=True, slots=True)
class Allocation:
    arm: str  # control | exosome
    day1: date
    randomized_at: datetime
    sequence_number: int


@dataclass(frozen=True, slots=True)
class Dose:
    id: uuid.UUID
    dose_number: int
    started_at: datetime
    ended_at: datetime
    particles: int
    volume_ml: Decimal
    lot_number: str | None


@dataclass(frozen=True, slots=True)
class Visit:
    id: uuid.UUID
    visit_day: int
    visit_date: date
    vital_status: str
    he_grade: int | None
    ascites: str | None
    symptoms: Mapping[str, int] | None
    labs: Mapping[str, Any]
    scores: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LabResult:
    id: uuid.UUID
    analyte: str
    value: Decimal
    unit: str
    canonical_value: Decimal
    canonical_unit: str
    loinc: str
    collected_at: datetime
    reference_range_high: Decimal | None
    reference_range_high_canonical: Decimal | None
    source: str  # api | visit | screening | fhir
    visit_day: int | None  # the visit's day when source = visit


@dataclass(frozen=True, slots=True)
class AdverseEvent:
    id: uuid.UUID
    term: str
    meddra_pt_code: str | None
    onset_date: date
    end_date: date | None
    ctcae_grade: int
    serious: bool
    seriousness_criteria: tuple[str, ...]
    relatedness: str
    expectedness: str
    action_taken: str | None
    outcome: str
    susar: bool


@dataclass(frozen=True, slots=True)
class Treatment:
    id: uuid.UUID
    category: str
    name: str
    start_date: date
    end_date: date | None
    dose: str | None
    route: str | None
    atc_code: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    id: uuid.UUID
    type: str  # death | liver_transplant | treatment_abandoned | withdrawn | lost_to_follow_up
    outcome_date: date


@dataclass(frozen=True, slots=True)
class Deviation:
    id: uuid.UUID
    kind: str
    rule: str
    detail: str
    reason: str
    record_table: str  # doses | visits
    on: date  # site-local date of the dose start or of the visit


@dataclass(frozen=True, slots=True)
class Participant:
    """One participant with every non-voided record the SDTM datasets are made of."""

    id: uuid.UUID
    study_id: str
    site_code: str
    timezone: str
    date_of_birth: date
    sex: str
    status: str
    screenings: tuple[Screening, ...] = ()  # by time of recording
    consents: tuple[Consent, ...] = ()
    allocation: Allocation | None = None
    doses: tuple[Dose, ...] = ()  # given doses only
    visits: tuple[Visit, ...] = ()
    lab_results: tuple[LabResult, ...] = ()
    adverse_events: tuple[AdverseEvent, ...] = ()
    treatments: tuple[Treatment, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    deviations: tuple[Deviation, ...] = ()

    @property
    def baseline(self) -> Screening | None:
        """The baseline assessment: the latest screening recorded at or before
        randomization (as the score series does); the latest screening otherwise."""
        if self.allocation is None:
            return self.screenings[-1] if self.screenings else None
        before = [s for s in self.screenings if s.created_at <= self.allocation.randomized_at]
        return before[-1] if before else None


@dataclass(frozen=True, slots=True)
class Study:
    """Everything one SDTM export is made of, and when it was taken."""

    participants: tuple[Participant, ...]
    exported_at: datetime
    first_consent: date | None = None  # study start (TS SSTDTC)
    data_as_of: str = ""  # the audit trail position the data reflects (e.g. "audit_log:812")
    sites: Mapping[str, str] = field(default_factory=dict)  # code -> name
