"""Participants, their screening assessments and consents."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, FetchedValue, ForeignKey, Index, LargeBinary, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, Timestamped, UUIDKey, Versioned

PARTICIPANT_STATUSES = (
    "screening",
    "screen_failed",
    "eligible",
    "randomized",
    "completed",
    "died",
    "liver_transplant",
    "treatment_abandoned",
    "withdrawn",
    "lost_to_follow_up",
)


class Participant(UUIDKey, Timestamped, Versioned, Base):
    __tablename__ = "participants"
    __table_args__ = (
        CheckConstraint("sex IN ('male','female')", name="sex"),
        CheckConstraint(
            "status IN (" + ",".join(f"'{s}'" for s in PARTICIPANT_STATUSES) + ")",
            name="status",
        ),
        Index("ix_participants_created_at_study_id", "created_at", "study_id"),
        CheckConstraint("(mrn_hmac IS NULL) = (mrn_ciphertext IS NULL)", name="mrn_both"),
        Index(
            "uq_participants_site_mrn",
            "site_id",
            "mrn_hmac",
            unique=True,
            postgresql_where=text("mrn_hmac IS NOT NULL AND status <> 'screen_failed'"),
        ),
    )
    __mapper_args__ = {"version_id_col": Versioned.version, "eager_defaults": True}

    # assigned by PostgreSQL (trigger `participant_study_id`): <SITE CODE>-<NNNN>
    study_id: Mapped[str] = mapped_column(unique=True, server_default=FetchedValue())
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    date_of_birth: Mapped[date]
    sex: Mapped[str]
    status: Mapped[str] = mapped_column(default="screening", index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    # the site's medical record number (SPEC §10.3): a keyed hash for lookup and the
    # ciphertext for display (app/services/mrn.py); never the plain value
    mrn_hmac: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    mrn_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class Screening(UUIDKey, Timestamped, Base):
    __tablename__ = "screenings"

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    assessment_date: Mapped[date]
    labs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    tbil_uln_umol_l: Mapped[Decimal | None] = mapped_column(default=None)
    he_grade: Mapped[int]
    ascites: Mapped[str]
    aclf_diagnosis_confirmed: Mapped[bool]
    age_years: Mapped[int]
    eligible: Mapped[bool]
    reasons: Mapped[list[str]] = mapped_column(JSONB)
    scores: Mapped[dict[str, Any]] = mapped_column(JSONB)
    symptoms: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)


class Consent(UUIDKey, Timestamped, Base):
    __tablename__ = "consents"

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    consent_date: Mapped[date]
    form_version: Mapped[str]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
