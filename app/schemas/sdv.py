"""Source data verification (SPEC §13)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.schemas.common import InputModel, OutputModel
from app.schemas.queries import Resource


class SdvIn(InputModel):
    resource: Resource
    record_id: uuid.UUID


class SdvRecordOut(OutputModel):
    resource: Resource
    record_id: uuid.UUID
    verified: bool = Field(description="verified against the source, and unchanged since")
    verified_by: uuid.UUID | None
    verified_at: datetime | None


class SdvProgressOut(OutputModel):
    verified: int
    total: int


class SdvOut(OutputModel):
    items: list[SdvRecordOut] = Field(
        description="one page of the participant's live (not voided) records"
    )
    total: int
    limit: int
    offset: int
    progress: SdvProgressOut
