"""Allocation lists (concealed), their slots, and the allocations made from them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, Timestamped, UUIDKey

ARM_CHECK = "arm IN ('control','exosome')"


class AllocationList(UUIDKey, Timestamped, Base):
    __tablename__ = "allocation_lists"
    __table_args__ = (
        # at most one active list: a unique index over a constant, for active rows only
        Index(
            "uq_allocation_lists_one_active",
            text("(true)"),
            unique=True,
            postgresql_where=text("active"),
        ),
    )

    seed: Mapped[str]
    block_sizes: Mapped[list[Any]] = mapped_column(JSONB)
    size: Mapped[int]
    algorithm: Mapped[str]
    commitment_sha256: Mapped[str]
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)
    deactivation_reason: Mapped[str | None] = mapped_column(default=None)


class AllocationSlot(UUIDKey, Base):
    """Immutable once generated; whether a slot is used is known from `randomizations`."""

    __tablename__ = "allocation_slots"
    __table_args__ = (
        UniqueConstraint("list_id", "sequence_number"),
        CheckConstraint(ARM_CHECK, name="arm"),
    )

    list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("allocation_lists.id"))
    sequence_number: Mapped[int]
    block_number: Mapped[int]
    block_size: Mapped[int]
    arm: Mapped[str]


class Randomization(UUIDKey, Base):
    __tablename__ = "randomizations"
    __table_args__ = (
        UniqueConstraint("participant_id"),
        UniqueConstraint("slot_id"),
        UniqueConstraint("list_id", "sequence_number", name="list_sequence"),
        CheckConstraint(ARM_CHECK, name="arm"),
    )

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"))
    list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("allocation_lists.id"))
    slot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("allocation_slots.id"))
    sequence_number: Mapped[int]
    arm: Mapped[str]
    randomized_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    day1: Mapped[date]
    randomized_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)


OUTCOME_TYPES = (
    "death",
    "liver_transplant",
    "treatment_abandoned",
    "withdrawn",
    "lost_to_follow_up",
)


class Outcome(UUIDKey, Timestamped, Base):
    __tablename__ = "outcomes"
    __table_args__ = (
        CheckConstraint("type IN (" + ",".join(f"'{t}'" for t in OUTCOME_TYPES) + ")", name="type"),
        Index(
            "uq_outcomes_one_death",
            "participant_id",
            unique=True,
            postgresql_where=text("type = 'death' AND voided_at IS NULL"),
        ),
    )

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    type: Mapped[str]
    outcome_date: Mapped[date]
    notes: Mapped[str | None] = mapped_column(default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    void_reason: Mapped[str | None] = mapped_column(default=None)
