"""Allocation lists and allocations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.schemas.common import InputModel, OutputModel, Reason

Arm = Literal["control", "exosome"]


MIN_SEED_LENGTH = 32  # a guessable seed makes the list (and its commitment) guessable


class AllocationListIn(InputModel):
    seed: Annotated[str, StringConstraints(min_length=MIN_SEED_LENGTH, max_length=256)] | None = (
        Field(
            default=None,
            description="optional, at least 32 characters of secret text; without it the service"
            " draws 256 bits from `secrets` (recommended)",
        )
    )
    block_sizes: list[int] | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        description="optional positive even sizes; without them the protocol's default"
        " applies. Which sizes a list uses is visible to statisticians and admins only.",
    )


class AllocationListOut(OutputModel):
    id: uuid.UUID
    size: int
    block_sizes: list[int]
    algorithm: str
    commitment_sha256: str
    active: bool
    created_at: datetime
    used: int = Field(description="slots already allocated")
    seed: str | None = Field(default=None, description="statistician/admin only")
    deactivated_at: datetime | None = None
    deactivation_reason: str | None = None


class SlotOut(OutputModel):
    sequence_number: int
    block_number: int
    block_size: int
    arm: Arm
    participant_id: uuid.UUID | None


class DeactivateIn(InputModel):
    reason: Reason


class ListVerificationOut(OutputModel):
    list_id: uuid.UUID
    commitment_sha256: str
    recomputed_sha256: str
    commitment_matches: bool
    stored_slots_match: bool


class RandomizationOut(OutputModel):
    participant_id: uuid.UUID
    arm: Arm
    sequence_number: int | None = Field(
        description="the slot's position in the allocation list; null for site roles"
        " (investigator, coordinator, integration), for whom it would help guess the next arm"
    )
    randomized_at: datetime
    day1: date
