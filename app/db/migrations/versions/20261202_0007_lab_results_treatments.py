"""laboratory results and standard medical treatment (SPEC §7)

`lab_results`: one analyte's value as entered and in its canonical UCUM unit, with its LOINC
code, collection time, optional upper reference limit and source (api, visit, screening,
fhir); one result per analyte and collection time among those entered directly (api, fhir).
`treatments`: standard medical treatment (medications and artificial liver support sessions).
Both are audited and never deleted (voided with a reason).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _versioned() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
    ]


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "lab_results",
        sa.Column("participant_id", sa.Uuid(), nullable=False),
        sa.Column("analyte", sa.String(), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("canonical_value", sa.Numeric(), nullable=False),
        sa.Column("canonical_unit", sa.String(), nullable=False),
        sa.Column("loinc", sa.String(), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_range_high", sa.Numeric(), nullable=True),
        sa.Column("reference_range_high_canonical", sa.Numeric(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("screening_id", sa.Uuid(), nullable=True),
        sa.Column("visit_id", sa.Uuid(), nullable=True),
        *_versioned(),
        sa.CheckConstraint(
            "source IN ('api','visit','screening','fhir')", name=op.f("ck_lab_results_source")
        ),
        sa.CheckConstraint(
            "(source = 'visit') = (visit_id IS NOT NULL)", name=op.f("ck_lab_results_visit_source")
        ),
        sa.CheckConstraint(
            "(source = 'screening') = (screening_id IS NOT NULL)",
            name=op.f("ck_lab_results_screening_source"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_lab_results_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["screening_id"], ["screenings.id"], name=op.f("fk_lab_results_screening_id_screenings")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_lab_results_visit_id_visits")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_lab_results_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_results")),
    )
    op.create_index(
        "uq_lab_results_direct",
        "lab_results",
        ["participant_id", "analyte", "collected_at"],
        unique=True,
        postgresql_where=sa.text("voided_at IS NULL AND source IN ('api','fhir')"),
    )
    op.create_index(
        "ix_lab_results_participant_collected", "lab_results", ["participant_id", "collected_at"]
    )
    op.create_index(op.f("ix_lab_results_screening_id"), "lab_results", ["screening_id"])
    op.create_index(op.f("ix_lab_results_visit_id"), "lab_results", ["visit_id"])
    op.create_table(
        "treatments",
        sa.Column("participant_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("dose", sa.String(), nullable=True),
        sa.Column("route", sa.String(), nullable=True),
        sa.Column("atc_code", sa.String(), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        *_versioned(),
        sa.CheckConstraint(
            "category IN ('antiviral','hepatoprotective','albumin','antibiotic',"
            "'artificial_liver_support','other')",
            name=op.f("ck_treatments_category"),
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name=op.f("ck_treatments_end_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_treatments_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_treatments_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatments")),
    )
    op.create_index(op.f("ix_treatments_participant_id"), "treatments", ["participant_id"])
    op.execute("SELECT audit.enable('lab_results')")
    op.execute("SELECT audit.enable('treatments')")


def downgrade() -> None:
    # Dropping the tables drops their audit triggers with them; their audit_log rows stay
    # (the trail is append-only). The no_truncate/no_delete triggers do not fire on DROP.
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_index(op.f("ix_treatments_participant_id"), table_name="treatments")
    op.drop_table("treatments")
    op.drop_index(op.f("ix_lab_results_visit_id"), table_name="lab_results")
    op.drop_index(op.f("ix_lab_results_screening_id"), table_name="lab_results")
    op.drop_index("ix_lab_results_participant_collected", table_name="lab_results")
    op.drop_index(
        "uq_lab_results_direct",
        table_name="lab_results",
        postgresql_where=sa.text("voided_at IS NULL AND source IN ('api','fhir')"),
    )
    op.drop_table("lab_results")
