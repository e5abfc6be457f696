"""Study and casebook locks (SPEC §13)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.schemas.common import InputModel, OutputModel, Reason


class UnlockIn(InputModel):
    reason: Reason = Field(description="why the data must change again (audited)")


class StudyLockOut(OutputModel):
    locked: bool
    locked_at: datetime | None = Field(description="when the current (or last) lock was set")
    locked_by: uuid.UUID | None
    unlocked_at: datetime | None
    unlocked_by: uuid.UUID | None
    unlock_reason: str | None


class CasebookLockOut(OutputModel):
    participant_id: uuid.UUID
    locked: bool
    locked_at: datetime | None
    locked_by: uuid.UUID | None
    unlocked_at: datetime | None
    unlocked_by: uuid.UUID | None
    unlock_reason: str | None


class DataLockOut(OutputModel):
    """What a report says of the data it was computed from."""

    study_locked: bool
    locked_at: datetime | None = Field(description="when the study was locked (if it is)")
    statement: str = Field(examples=["Data locked for the final analysis at 2026-12-03T01:00Z"])
