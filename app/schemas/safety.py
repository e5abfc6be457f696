"""Adverse events (SPEC §2.6, §6): request and response shapes.

The controlled vocabularies are validated by the domain (`app.domain.adverse_events`) so a bad
code is a 422 naming the field, in one response with every other broken rule.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

from app.schemas.common import AnswersQuery, InputModel, OutputModel, Reason, Text
from app.schemas.published import (
    ActionTakenCode,
    AeOutcomeCode,
    ExpectednessCode,
    RelatednessCode,
    SeriousnessCode,
)

Code = Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]


class AdverseEventIn(InputModel):
    term: Text = Field(description="verbatim term as the site reported it")
    meddra_pt_code: Code | None = Field(default=None, description="8-digit MedDRA PT code")
    onset_date: date
    end_date: date | None = None
    ctcae_grade: int = Field(description="CTCAE v5 grade 1-5 (5 = death related to the AE)")
    serious: bool
    seriousness_criteria: list[SeriousnessCode] = Field(
        default_factory=list,
        max_length=6,
        description="death, life_threatening, hospitalization, disability, "
        "congenital_anomaly, important_medical_event",
    )
    relatedness: RelatednessCode = Field(
        description="not_related, unlikely, possible, probable, definite"
    )
    expectedness: ExpectednessCode = Field(description="expected, unexpected")
    action_taken: ActionTakenCode | None = Field(
        default=None,
        description="with the study drug: none, interrupted, dose_not_given, withdrawn, "
        "not_applicable",
    )
    outcome: AeOutcomeCode = Field(
        description="recovered, recovering, not_recovered, recovered_with_sequelae, fatal, unknown"
    )
    aware_at: datetime = Field(description="when the site learned of the event (with offset)")
    dose_id: uuid.UUID | None = Field(default=None, description="the dose (infusion reaction)")


class AdverseEventPatch(AnswersQuery):
    """A follow-up or correction: only the fields sent change; the result is re-validated."""

    term: Text | None = None
    meddra_pt_code: Code | None = None
    onset_date: date | None = None
    end_date: date | None = None
    ctcae_grade: int | None = None
    serious: bool | None = None
    seriousness_criteria: list[SeriousnessCode] | None = Field(default=None, max_length=6)
    relatedness: RelatednessCode | None = None
    expectedness: ExpectednessCode | None = None
    action_taken: ActionTakenCode | None = None
    outcome: AeOutcomeCode | None = None
    aware_at: datetime | None = Field(
        default=None,
        description="the first awareness is never changed: only its current value is accepted",
    )
    serious_aware_at: AwareDatetime | None = Field(
        default=None,
        description="with the follow-up that makes the event serious: when the site knew it was"
        " serious (default: now); the 24-h clock runs from it",
    )
    dose_id: uuid.UUID | None = None
    reason: Reason


class SponsorReportIn(InputModel):
    reported_at: AwareDatetime = Field(description="when the report reached the sponsor")
    expedited: bool = Field(
        default=False,
        description="true: the SUSAR's expedited report (also records the SAE report if it "
        "is not recorded yet); false: the SAE report within 24 h",
    )
    follow_up: bool = Field(
        default=False,
        description="true: the complete follow-up report of a fatal or life-threatening SUSAR",
    )
    sponsor_aware_at: AwareDatetime | None = Field(
        default=None,
        description="when the sponsor learned of the event (default: reported_at of the first "
        "report); the SUSAR clock runs from it",
    )


class AdverseEventOut(OutputModel):
    id: uuid.UUID
    participant_id: uuid.UUID
    study_id: str
    term: str
    meddra_pt_code: str | None
    onset_date: date
    end_date: date | None
    ctcae_grade: int
    serious: bool
    seriousness_criteria: list[SeriousnessCode]
    relatedness: RelatednessCode
    expectedness: ExpectednessCode
    action_taken: ActionTakenCode | None
    outcome: AeOutcomeCode
    aware_at: datetime = Field(description="the site's first awareness (never changed)")
    serious_aware_at: datetime | None = Field(
        description="when the site knew the event was serious (= aware_at when recorded serious)"
    )
    sponsor_aware_at: datetime | None = Field(description="when the sponsor learned of it")
    dose_id: uuid.UUID | None
    susar: bool
    treatment_emergent: bool = Field(
        description="onset on or after Day 1 and, in the exosome arm, on or after the first dose"
    )
    report_due_at: datetime | None = Field(
        description="serious: serious_aware_at + 24 h; else null"
    )
    expedited_due_at: datetime | None = Field(
        description="SUSAR: (sponsor_aware_at, else serious_aware_at) + 7 days if fatal or "
        "life-threatening, else + 15 days"
    )
    follow_up_due_at: datetime | None = Field(
        description="fatal or life-threatening SUSAR: expedited_due_at + 8 days"
    )
    reported_at: datetime | None
    expedited_reported_at: datetime | None
    follow_up_reported_at: datetime | None
    report_status: str = Field(
        description="not_required, pending, overdue, reported_on_time, reported_late"
    )
    expedited_report_status: str
    follow_up_report_status: str
    overdue: bool = Field(description="a required report is unreported past its due time")
    version: int
    created_at: datetime
    updated_at: datetime | None
    voided_at: datetime | None
