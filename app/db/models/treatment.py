"""Doses, visits (with their stored scores) and protocol deviations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Numeric, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, Timestamped, UUIDKey, Versioned


class Dose(UUIDKey, Timestamped, Versioned, Base):
    __tablename__ = "doses"
    __table_args__ = (
        CheckConstraint("status IN ('given','not_administered')", name="status"),
        CheckConstraint("dose_number BETWEEN 1 AND 4", name="dose_number"),
        CheckConstraint(
            "status <> 'given' OR (started_at IS NOT NULL AND ended_at > started_at"
            " AND particles > 0 AND volume_ml > 0)",
            name="given_has_infusion",
        ),
        Index(
            "uq_doses_participant_dose",
            "participant_id",
            "dose_number",
            unique=True,
            postgresql_where=text("voided_at IS NULL"),
        ),
    )
    __mapper_args__ = {"version_id_col": Versioned.version, "eager_defaults": True}

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    dose_number: Mapped[int]
    status: Mapped[str]
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    particles: Mapped[int | None] = mapped_column(BigInteger, default=None)
    volume_ml: Mapped[Decimal | None] = mapped_column(Numeric(8, 2), default=None)
    lot_number: Mapped[str | None] = mapped_column(default=None)
    interruption_notes: Mapped[str | None] = mapped_column(default=None)
    not_given_reason: Mapped[str | None] = mapped_column(default=None)
    deviation_reason: Mapped[str | None] = mapped_column(default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)


class Visit(UUIDKey, Timestamped, Versioned, Base):
    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint("visit_day IN (4,7,10,13,28,84)", name="visit_day"),
        CheckConstraint("vital_status IN ('alive','dead')", name="vital_status"),
        Index(
            "uq_visits_participant_day",
            "participant_id",
            "visit_day",
            unique=True,
            postgresql_where=text("voided_at IS NULL"),
        ),
    )
    __mapper_args__ = {"version_id_col": Versioned.version, "eager_defaults": True}

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_day: Mapped[int]
    visit_date: Mapped[date]
    vital_status: Mapped[str]
    labs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    he_grade: Mapped[int | None] = mapped_column(default=None)
    ascites: Mapped[str | None] = mapped_column(default=None)
    symptoms: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    age_years: Mapped[int]
    scores: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    deviation_reason: Mapped[str | None] = mapped_column(default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)


class ProtocolDeviation(UUIDKey, Timestamped, Base):
    """One broken protocol rule of a dose or visit, with the reason given for it."""

    __tablename__ = "protocol_deviations"
    __table_args__ = (
        CheckConstraint("record_table IN ('doses','visits')", name="record_table"),
        Index("ix_protocol_deviations_record", "record_table", "record_id"),
    )

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    kind: Mapped[str] = mapped_column(index=True)
    rule: Mapped[str]
    detail: Mapped[str]
    reason: Mapped[str]
    record_table: Mapped[str]
    record_id: Mapped[uuid.UUID]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    void_reason: Mapped[str | None] = mapped_column(default=None)
