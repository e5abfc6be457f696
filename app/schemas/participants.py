"""Participants, screening, consent."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from app.domain.protocol import EARLIEST_DATE_OF_BIRTH
from app.schemas.access import Code
from app.schemas.common import InputModel, OutputModel, QuantityIn, Reason, Text
from app.schemas.published import LabsIn, LabValuesOut, ScoresOut

Sex = Literal["male", "female"]
Ascites = Literal["none", "mild", "moderate_severe"]


def _plausible_birth_date(value: date | None) -> date | None:
    if value is not None and value < EARLIEST_DATE_OF_BIRTH:
        raise ValueError(f"must be on or after {EARLIEST_DATE_OF_BIRTH.isoformat()}")
    return value


Mrn = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="the site's medical record number (SPEC §10.3), in the site's mrn_system;"
        " shown to the site's own roles and admin only, stored hashed and encrypted",
        examples=["0012345678"],
    ),
]


class MrnOut(OutputModel):
    system: str = Field(description="the site's identifier system (FHIR Identifier.system)")
    value: str


class ParticipantIn(InputModel):
    site_code: Code
    date_of_birth: date = Field(description="on or after 1900-01-01, not in the future")
    sex: Sex
    mrn: Mrn | None = None

    _plausible = field_validator("date_of_birth")(_plausible_birth_date)


class ParticipantPatch(InputModel):
    date_of_birth: date | None = None
    sex: Sex | None = None
    mrn: Mrn | None = Field(default=None, description="the site's MRN; null removes it")
    reason: Reason

    _plausible = field_validator("date_of_birth")(_plausible_birth_date)


class ConsentOut(OutputModel):
    consent_date: date
    form_version: str
    recorded_at: datetime | None = None


class ParticipantOut(OutputModel):
    id: uuid.UUID
    study_id: str
    site_code: str
    date_of_birth: date
    sex: str
    status: str
    created_at: datetime
    version: int
    consent: ConsentOut | None = None
    eligible: bool | None = None
    arm: str | None = None
    day1: date | None = None
    mrn: MrnOut | None = Field(
        default=None, description="the site's MRN: for the site's own roles and admin only"
    )


class ScreeningIn(InputModel):
    assessment_date: date
    labs: LabsIn | None = Field(
        default=None,
        description="keyed by the analytes of SPEC §7, each {value, unit}; stored as lab results"
        " (source screening). Absent: the latest result of each analyte needed collected on"
        " assessment_date (site-local) is used; a missing COSSH-ACLF II input is a 422.",
        examples=[
            {
                "inr": {"value": 1.8, "unit": "1"},
                "total_bilirubin": {"value": 250, "unit": "umol/L"},
                "neutrophils": {"value": 3.2, "unit": "10*9/L"},
                "urea": {"value": 5.1, "unit": "mmol/L"},
                "albumin": {"value": 30, "unit": "g/L"},
            }
        ],
    )
    total_bilirubin_uln: QuantityIn | None = Field(
        default=None, description="the lab's upper limit of normal for total bilirubin"
    )
    he_grade: int = Field(ge=0, le=4, description="West Haven grade 0-4")
    ascites: Ascites
    aclf_diagnosis_confirmed: bool = Field(
        description="the investigator confirms ACLF per the 2024 Chinese guideline"
    )
    symptoms: SymptomsIn | None = Field(
        default=None, description="baseline symptom items (the symptom score's baseline)"
    )


class ScreeningOut(OutputModel):
    id: uuid.UUID
    participant_id: uuid.UUID
    assessment_date: date
    eligible: bool
    reasons: list[str]
    scores: ScoresOut
    status: str
    age_years: int
    labs: LabValuesOut


class ConsentIn(InputModel):
    consent_date: date
    form_version: Text


class CalculatorCosshIn(InputModel):
    age: int = Field(ge=0, le=130)
    he_grade: int = Field(ge=0, le=4)
    labs: LabsIn


class CalculatorChildPughIn(InputModel):
    labs: LabsIn
    ascites: Ascites
    he_grade: int = Field(ge=0, le=4)


class SymptomsIn(InputModel):
    fatigue: int = Field(ge=0, le=3)
    anorexia: int = Field(ge=0, le=3)
    nausea: int = Field(ge=0, le=3)
    jaundice: int = Field(ge=0, le=3)
    consciousness: int = Field(ge=0, le=3)


class CosshOut(OutputModel):
    score: float
    value: float = Field(description="unrounded score (risk and eligibility use this)")
    risk: Literal["low", "moderate", "high"]
    version: str


class ChildPughOut(OutputModel):
    score: int
    class_: Literal["A", "B", "C"] = Field(alias="class")
    version: str


class SymptomOut(OutputModel):
    score: int
    version: str


ScreeningIn.model_rebuild()
