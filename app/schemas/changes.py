"""The change feed (SPEC §9.2): one item per committed change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from app.schemas.common import OutputModel

Resource = Literal[
    "participant",
    "screening",
    "consent",
    "randomization",
    "dose",
    "visit",
    "protocol_deviation",
    "outcome",
    "adverse_event",
    "lab_result",
    "treatment",
]


class ChangeOut(OutputModel):
    cursor: str = Field(description="this change's position; pass it as `after` to resume here")
    resource: Resource = Field(description="the kind of record changed")
    id: uuid.UUID = Field(description="the record's id (read it for its current values)")
    participant_id: uuid.UUID | None = Field(description="the participant the record belongs to")
    action: Literal["created", "updated", "voided"]
    changed_at: datetime = Field(description="when the change was made (its commit followed)")


class ChangesOut(OutputModel):
    items: list[ChangeOut] = Field(description="in commit-safe order (docs/contract.md)")
    next_cursor: str = Field(
        description="pass as `after` for the next page; the same cursor when nothing is new"
    )
    limit: int
