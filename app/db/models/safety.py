"""Adverse events and serious adverse events with their reporting clocks."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, Timestamped, UUIDKey, Versioned


class AdverseEvent(UUIDKey, Timestamped, Versioned, Base):
    __tablename__ = "adverse_events"
    __table_args__ = (
        CheckConstraint("ctcae_grade BETWEEN 1 AND 5", name="ctcae_grade"),
        CheckConstraint("end_date IS NULL OR end_date >= onset_date", name="end_after_onset"),
        CheckConstraint(
            "serious = (jsonb_array_length(seriousness_criteria) > 0)", name="serious_criteria"
        ),
        CheckConstraint(
            "NOT serious OR serious_aware_at IS NOT NULL", name="serious_has_serious_aware_at"
        ),
    )
    __mapper_args__ = {"version_id_col": Versioned.version, "eager_defaults": True}

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    term: Mapped[str]
    meddra_pt_code: Mapped[str | None] = mapped_column(default=None)
    onset_date: Mapped[date]
    end_date: Mapped[date | None] = mapped_column(default=None)
    ctcae_grade: Mapped[int]
    serious: Mapped[bool]
    seriousness_criteria: Mapped[list[Any]] = mapped_column(JSONB)
    relatedness: Mapped[str]
    expectedness: Mapped[str]
    action_taken: Mapped[str | None] = mapped_column(default=None)
    outcome: Mapped[str]
    aware_at: Mapped[datetime]  # the site's FIRST awareness; never overwritten
    serious_aware_at: Mapped[datetime | None] = mapped_column(default=None)
    sponsor_aware_at: Mapped[datetime | None] = mapped_column(default=None)
    dose_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("doses.id"), default=None)
    susar: Mapped[bool]
    report_due_at: Mapped[datetime | None] = mapped_column(default=None)
    expedited_due_at: Mapped[datetime | None] = mapped_column(default=None)
    follow_up_due_at: Mapped[datetime | None] = mapped_column(default=None)
    follow_up_reported_at: Mapped[datetime | None] = mapped_column(default=None)
    reported_at: Mapped[datetime | None] = mapped_column(default=None)
    expedited_reported_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
