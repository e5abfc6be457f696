"""Laboratory results (SPEC §7) and standard medical treatment records."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, Timestamped, UUIDKey, Versioned

LAB_SOURCES = ("api", "visit", "screening", "fhir")
TREATMENT_CATEGORIES = (
    "antiviral",
    "hepatoprotective",
    "albumin",
    "antibiotic",
    "artificial_liver_support",
    "other",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class LabResult(UUIDKey, Timestamped, Versioned, Base):
    """One analyte's value as entered and in its canonical unit, with where it came from."""

    __tablename__ = "lab_results"
    __table_args__ = (
        CheckConstraint(_in("source", LAB_SOURCES), name="source"),
        CheckConstraint("(source = 'visit') = (visit_id IS NOT NULL)", name="visit_source"),
        CheckConstraint(
            "(source = 'screening') = (screening_id IS NOT NULL)", name="screening_source"
        ),
        # one result per analyte and collection time among those entered directly
        Index(
            "uq_lab_results_direct",
            "participant_id",
            "analyte",
            "collected_at",
            unique=True,
            postgresql_where=text("voided_at IS NULL AND source IN ('api','fhir')"),
        ),
        Index("ix_lab_results_participant_collected", "participant_id", "collected_at"),
        CheckConstraint(
            "(fhir_identifier_system IS NULL) = (fhir_identifier_value IS NULL)"
            " AND (fhir_identifier_system IS NULL OR source = 'fhir')",
            name="fhir_identifier",
        ),
        # conditional create (SPEC §10): an ingested Observation's identifier, once
        Index(
            "uq_lab_results_fhir_identifier",
            "fhir_identifier_system",
            "fhir_identifier_value",
            unique=True,
            postgresql_where=text("fhir_identifier_system IS NOT NULL"),
        ),
    )
    __mapper_args__ = {"version_id_col": Versioned.version, "eager_defaults": True}

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"))
    analyte: Mapped[str]
    value: Mapped[Decimal] = mapped_column(Numeric)
    unit: Mapped[str]
    canonical_value: Mapped[Decimal] = mapped_column(Numeric)
    canonical_unit: Mapped[str]
    loinc: Mapped[str]
    collected_at: Mapped[datetime]
    reference_range_high: Mapped[Decimal | None] = mapped_column(Numeric, default=None)
    reference_range_high_canonical: Mapped[Decimal | None] = mapped_column(Numeric, default=None)
    source: Mapped[str]
    screening_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("screenings.id"), default=None, index=True
    )
    visit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("visits.id"), default=None, index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    fhir_identifier_system: Mapped[str | None] = mapped_column(default=None)
    fhir_identifier_value: Mapped[str | None] = mapped_column(default=None)


class Treatment(UUIDKey, Timestamped, Versioned, Base):
    """A medication or procedure of standard medical treatment (SPEC §7)."""

    __tablename__ = "treatments"
    __table_args__ = (
        CheckConstraint(_in("category", TREATMENT_CATEGORIES), name="category"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
    )
    __mapper_args__ = {"version_id_col": Versioned.version, "eager_defaults": True}

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    category: Mapped[str]
    name: Mapped[str]
    start_date: Mapped[date]
    end_date: Mapped[date | None] = mapped_column(default=None)
    dose: Mapped[str | None] = mapped_column(default=None)
    route: Mapped[str | None] = mapped_column(default=None)
    atc_code: Mapped[str | None] = mapped_column(default=None)
    notes: Mapped[str | None] = mapped_column(default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
