"""Doses, dosing schedule, visits, visit schedule, score series and protocol deviations."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from app.schemas.common import (
    AnswersQuery,
    InputModel,
    OutputModel,
    Reason,
    Text,
)
from app.schemas.participants import Ascites, SymptomsIn
from app.schemas.published import LabsIn, LabValuesOut, ScoreChangesOut, ScoresOut

DoseStatus = Literal["given", "not_administered"]
VitalStatus = Literal["alive", "dead"]
# A deviation reason may be blank (then it is no reason and off-protocol data is refused).
DeviationReason = Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True)]
Notes = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
Particles = Annotated[int, Field(examples=[200_000_000_000], le=10**18)]
VolumeMl = Annotated[
    Decimal, Field(allow_inf_nan=False, examples=[100], max_digits=8, decimal_places=2)
]


# --- protocol deviations --------------------------------------------------------------------


class DeviationOut(OutputModel):
    id: uuid.UUID
    participant_id: uuid.UUID
    kind: str = Field(
        description="dose_out_of_window, short_infusion, wrong_particle_count, wrong_volume,"
        " short_dose_interval or visit_out_of_window"
    )
    rule: str = Field(description="the protocol rule, in words")
    detail: str = Field(description="what the record did instead")
    reason: str = Field(description="the deviation_reason given with the record")
    record_table: Literal["doses", "visits"]
    record_id: uuid.UUID
    created_at: datetime
    voided_at: datetime | None = None
    void_reason: str | None = None


# --- doses ---------------------------------------------------------------------------------------


class DoseIn(InputModel):
    """A given dose (the default), or `status: "not_administered"` with a `reason`."""

    dose_number: int = Field(examples=[1], description="1-4")
    status: DoseStatus = "given"
    started_at: AwareDatetime | None = Field(default=None, examples=["2026-03-01T01:30:00Z"])
    ended_at: AwareDatetime | None = Field(default=None, examples=["2026-03-01T03:35:00Z"])
    particles: Particles | None = None
    volume_ml: VolumeMl | None = None
    lot_number: Text | None = Field(default=None, examples=["EVS-2026-014"])
    interruption_notes: Notes | None = Field(
        default=None, description="interruptions of the infusion, if any"
    )
    deviation_reason: DeviationReason | None = Field(
        default=None, description="required when the dose is off protocol; creates a deviation"
    )
    reason: Notes | None = Field(
        default=None, description="why the dose was not administered (not_administered only)"
    )


class DosePatch(AnswersQuery):
    """A correction: only the fields sent change; `reason` is the audit trail's why."""

    status: DoseStatus | None = None
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    particles: Particles | None = None
    volume_ml: VolumeMl | None = None
    lot_number: Text | None = None
    interruption_notes: Notes | None = None
    deviation_reason: DeviationReason | None = None
    not_administered_reason: Notes | None = Field(
        default=None, description="why the dose was not administered (the POST's `reason`)"
    )
    reason: Reason = Field(description="why the record is corrected (audit trail)")


class DoseOut(OutputModel):
    id: uuid.UUID
    participant_id: uuid.UUID
    dose_number: int
    status: DoseStatus
    started_at: datetime | None
    ended_at: datetime | None
    study_day: int | None = Field(description="study day of started_at at the site")
    particles: int | None
    volume_ml: float | None
    lot_number: str | None
    interruption_notes: str | None
    reason: str | None = Field(description="why the dose was not administered")
    deviation_reason: str | None
    deviation: DeviationOut | None = Field(description="the first protocol deviation, or null")
    deviations: list[DeviationOut] = Field(description="every protocol deviation of the dose")
    version: int = Field(description="the ETag of the record (If-Match for a correction)")
    created_at: datetime
    updated_at: datetime | None


class ScheduledDoseOut(OutputModel):
    dose_number: int
    target_day: int
    target_date: date
    window_first_day: int
    window_last_day: int
    window_start: date = Field(description="first allowed date (site-local), inclusive")
    window_end: date = Field(description="last allowed date (site-local), inclusive")
    status: Literal["given", "not_administered", "due", "upcoming", "overdue", "not_applicable"]
    dose_id: uuid.UUID | None = None
    not_before: datetime | None = Field(
        default=None,
        description="earliest start keeping the minimum interval after the previous given dose",
    )


class DosingScheduleOut(OutputModel):
    participant_id: uuid.UUID
    arm: str | None
    day1: date | None
    today: date = Field(description="today at the site")
    doses: list[ScheduledDoseOut]
    next_dose: ScheduledDoseOut | None


# --- visits --------------------------------------------------------------------------------------


class VisitIn(InputModel):
    visit_day: int = Field(examples=[4], description="4, 7, 10, 13, 28 or 84")
    visit_date: date
    vital_status: VitalStatus
    labs: LabsIn | None = Field(
        default=None,
        description="keyed by the analytes of SPEC §7, each {value, unit}; stored as lab"
        " results (source visit). Absent: the latest result of each analyte the scores need"
        " collected on visit_date (site-local) is used.",
        examples=[
            {
                "inr": {"value": 1.6, "unit": "1"},
                "total_bilirubin": {"value": 180, "unit": "umol/L"},
                "neutrophils": {"value": 3.0, "unit": "10*9/L"},
                "urea": {"value": 5.0, "unit": "mmol/L"},
                "albumin": {"value": 32, "unit": "g/L"},
            }
        ],
    )
    he_grade: int | None = Field(default=None, ge=0, le=4, description="West Haven grade 0-4")
    ascites: Ascites | None = None
    symptoms: SymptomsIn | None = None
    deviation_reason: DeviationReason | None = None


class VisitPatch(AnswersQuery):
    """A correction: only the fields sent change (`labs`, when sent, replaces all labs)."""

    visit_date: date | None = None
    vital_status: VitalStatus | None = None
    labs: LabsIn | None = Field(
        default=None,
        description="replaces all labs (and the visit's lab results); null: take the results"
        " collected on visit_date",
    )
    he_grade: int | None = Field(default=None, ge=0, le=4)
    ascites: Ascites | None = None
    symptoms: SymptomsIn | None = None
    deviation_reason: DeviationReason | None = None
    reason: Reason = Field(description="why the record is corrected (audit trail)")


class VisitOut(OutputModel):
    id: uuid.UUID
    participant_id: uuid.UUID
    visit_day: int
    visit_date: date
    study_day: int
    vital_status: VitalStatus
    labs: LabValuesOut
    he_grade: int | None
    ascites: str | None
    symptoms: dict[str, Any] | None
    age_years: int = Field(description="completed years on the visit date (used by the scores)")
    scores: ScoresOut
    deviation_reason: str | None
    deviation: DeviationOut | None
    deviations: list[DeviationOut]
    participant_status: str
    version: int
    created_at: datetime
    updated_at: datetime | None


class VisitSlotOut(OutputModel):
    visit_day: int | None = Field(description="null for baseline (the screening assessment)")
    target_date: date | None
    window_start: date
    window_end: date
    status: Literal["upcoming", "due", "overdue", "completed", "missed", "not_applicable"]
    visit_date: date | None
    visit_id: uuid.UUID | None = Field(
        default=None, description="the recorded visit (GET …/visits/{visit_id}); null for baseline"
    )
    screening_id: uuid.UUID | None = Field(
        default=None, description="baseline only: the screening that is the baseline assessment"
    )


class VisitsOut(OutputModel):
    participant_id: uuid.UUID
    day1: date | None
    today: date = Field(description="today at the site")
    schedule: list[VisitSlotOut]
    visits: list[VisitOut]


# --- score series -------------------------------------------------------------------------------


class ScoreAssessmentOut(OutputModel):
    visit_day: int | None = Field(description="null for baseline")
    date: dt.date
    source: Literal["screening", "visit"]
    record_id: uuid.UUID
    scores: ScoreChangesOut = Field(
        description="{name: {score, change_from_baseline, version, ...}}; change is null when"
        " the baseline lacks that score"
    )
