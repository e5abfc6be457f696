"""Laboratory results and standard medical treatment (SPEC §7)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from app.domain.analytes import ANALYTE_KEYS
from app.schemas.common import AnswersQuery, InputModel, OutputModel, Reason, Text
from app.schemas.published import CategoryCode

LabValue = Annotated[Decimal, Field(allow_inf_nan=False, examples=[42])]
AnalyteKey = Annotated[
    str,
    Field(
        max_length=32,
        examples=["alt"],
        description="an analyte key of SPEC §7",
        json_schema_extra={"enum": list(ANALYTE_KEYS)},
    ),
]
Unit = Annotated[
    str | None,
    Field(
        default=None,
        max_length=20,
        examples=["U/L"],
        description="UCUM code (case-sensitive); any unit commensurable with the canonical one."
        " Only INR may omit it (meaning 1).",
    ),
]
LabSource = Literal["api", "visit", "screening", "fhir"]
TreatmentCategory = Literal[
    "antiviral", "hepatoprotective", "albumin", "antibiotic", "artificial_liver_support", "other"
]
Notes = Annotated[str, Field(min_length=1, max_length=2000)]
AtcCode = Annotated[
    str,
    Field(max_length=7, examples=["J05AF10"], description="WHO ATC code, level 1-5 (J05AF10)"),
]


# --- lab results ---------------------------------------------------------------------------------


class LabResultIn(InputModel):
    analyte: AnalyteKey
    value: LabValue
    unit: Unit
    collected_at: AwareDatetime = Field(examples=["2026-03-04T07:30:00+08:00"])
    reference_range_high: LabValue | None = Field(
        default=None, description="the lab's upper limit of normal (ULN), in the entered unit"
    )


class LabResultPatch(AnswersQuery):
    """A correction of a result entered directly (source api or fhir)."""

    analyte: AnalyteKey | None = None
    value: LabValue | None = None
    unit: Unit
    collected_at: AwareDatetime | None = None
    reference_range_high: LabValue | None = None
    reason: Reason = Field(description="why the record is corrected (audit trail)")


class LabResultOut(OutputModel):
    id: uuid.UUID
    participant_id: uuid.UUID
    analyte: str
    category: CategoryCode = Field(description="liver, coagulation, inflammation or other")
    value: float = Field(description="as entered")
    unit: str = Field(description="as entered (UCUM)")
    canonical_value: float = Field(description="in canonical_unit, rounded to 4 decimals")
    canonical_unit: str
    loinc: str = Field(description="LOINC code of the analyte in its canonical unit")
    collected_at: datetime
    reference_range_high: float | None = Field(description="ULN in the entered unit")
    reference_range_high_canonical: float | None = Field(description="ULN in canonical_unit")
    source: LabSource
    screening_id: uuid.UUID | None = Field(description="the screening it was entered with")
    visit_id: uuid.UUID | None = Field(description="the visit it was entered with")
    version: int = Field(description="the ETag of the record (If-Match for a correction)")
    created_at: datetime
    updated_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None


# --- standard medical treatment --------------------------------------------------------------


class TreatmentIn(InputModel):
    category: TreatmentCategory
    name: Text = Field(
        examples=["entecavir"], description="drug, or the modality for artificial liver support"
    )
    start_date: date
    end_date: date | None = Field(default=None, description="null while ongoing")
    dose: Text | None = Field(default=None, examples=["0.5 mg once daily"])
    route: Text | None = Field(default=None, examples=["oral"])
    atc_code: AtcCode | None = None
    notes: Notes | None = None


class TreatmentPatch(AnswersQuery):
    category: TreatmentCategory | None = None
    name: Text | None = None
    start_date: date | None = None
    end_date: date | None = None
    dose: Text | None = None
    route: Text | None = None
    atc_code: AtcCode | None = None
    notes: Notes | None = None
    reason: Reason = Field(description="why the record is corrected (audit trail)")


class TreatmentOut(OutputModel):
    id: uuid.UUID
    participant_id: uuid.UUID
    category: TreatmentCategory
    name: str
    start_date: date
    end_date: date | None
    dose: str | None
    route: str | None
    atc_code: str | None
    notes: str | None
    version: int = Field(description="the ETag of the record (If-Match for a correction)")
    created_at: datetime
    updated_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
