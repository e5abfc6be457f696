"""Participant outcomes (SPEC §2.2, §6): death, transplant, abandonment, withdrawal, loss."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from app.schemas.common import InputModel, OutputModel, Text

OutcomeType = Literal[
    "death", "liver_transplant", "treatment_abandoned", "withdrawn", "lost_to_follow_up"
]


class OutcomeIn(InputModel):
    type: OutcomeType
    date: date
    notes: Text | None = Field(default=None, description="free text, e.g. the cause of death")


class OutcomeOut(OutputModel):
    id: uuid.UUID
    type: str
    date: date
    status: str = Field(description="the participant's status after this outcome")
    participant_id: uuid.UUID
    study_day: int = Field(description="study day of the outcome date (Day 1 = randomization)")
    notes: str | None = None
    created_at: datetime
