"""data management (SPEC §13, issue 15): study and casebook locks enforced by PostgreSQL,
electronic signatures, source data verification, data queries; the signer's full name

* `study_lock` (one row, id 1) and `casebook_locks` (one row per participant ever locked):
  while locked, the BEFORE trigger `datamgmt_guard` on every clinical table raises `DL001`
  (study) or `DL002` (casebook); see app/db/migrations/sql_0013_data_management.py.
* `signatures`: the manifest of an electronic signature (21 CFR 11.50); the AFTER trigger
  `datamgmt_after` on every clinical table marks it invalidated on any later change, and
  `datamgmt_signature_immutable` refuses (`DL003`) every other UPDATE. No DELETE (audit.enable).
* `sdv_marks`: source data verification of one record; `datamgmt_after` clears it when the
  record changes.
* `queries` and `query_messages`: a discrepancy raised on a record and its conversation.
* `users.full_name`: the signer's printed name in the manifest.

Every new table is audited; the app role gets SELECT/INSERT/UPDATE through the default
privileges of 0006 (nothing else is needed: the trigger functions run as the invoker and only
read or update these tables).

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.migrations.sql_0013_data_management import (
    AFTER_CHANGE,
    CLINICAL_TABLES,
    GUARD_WRITE,
    SIGNATURE_IMMUTABLE,
    attach,
    detach,
)

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = (
    "study_lock",
    "casebook_locks",
    "signatures",
    "sdv_marks",
    "queries",
    "query_messages",
)
RESOURCES = "('visit','dose','adverse_event','screening','lab_result','outcome','treatment')"


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _at(name: str, *, now: bool = False) -> sa.Column:  # type: ignore[type-arg]
    default = sa.text("now()") if now else None
    return sa.Column(name, sa.DateTime(timezone=True), server_default=default, nullable=not now)


def _fk(table: str, name: str, target: str, *, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    """A uuid column referencing `target` ("table.id"), its constraint named by the house
    convention (fk_<table>_<column>_<referred table>)."""
    referred = target.split(".")[0]
    key = sa.ForeignKey(target, name=op.f(f"fk_{table}_{name}_{referred}"))
    return sa.Column(name, sa.Uuid(), key, nullable=nullable)


def _lock_state(table: str) -> list[sa.Column]:  # type: ignore[type-arg]
    """Who locked and unlocked, when, and why it was unlocked (both lock tables)."""
    return [
        _at("locked_at"),
        _fk(table, "locked_by", "users.id"),
        _at("unlocked_at"),
        _fk(table, "unlocked_by", "users.id"),
        sa.Column("unlock_reason", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    ]


def _locks() -> None:
    op.create_table(
        "study_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        *_lock_state("study_lock"),
        sa.CheckConstraint("id = 1", name=op.f("ck_study_lock_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_lock")),
    )
    op.create_table(
        "casebook_locks",
        _id(),
        _fk("casebook_locks", "participant_id", "participants.id", nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        *_lock_state("casebook_locks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casebook_locks")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_casebook_locks_participant_id")),
    )


def _signatures_and_sdv() -> None:
    op.create_table(
        "signatures",
        _id(),
        _fk("signatures", "participant_id", "participants.id", nullable=False),
        _fk("signatures", "signer_user_id", "users.id", nullable=False),
        sa.Column("signer_username", sa.String(), nullable=False),
        sa.Column("signer_full_name", sa.String(), nullable=False),
        sa.Column("signer_role", sa.String(), nullable=False),
        sa.Column("meaning", sa.String(), nullable=False),
        sa.Column(
            "signed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("casebook_sha256", sa.String(64), nullable=False),
        sa.Column("canonical_version", sa.String(), nullable=False),
        _at("invalidated_at"),
        sa.Column("invalidated_by_table", sa.String(), nullable=True),
        sa.Column("invalidated_by_record", sa.Uuid(), nullable=True),
        sa.CheckConstraint("meaning IN ('approval')", name=op.f("ck_signatures_meaning")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    op.create_index(op.f("ix_signatures_participant_id"), "signatures", ["participant_id"])
    op.create_table(
        "sdv_marks",
        _id(),
        _fk("sdv_marks", "participant_id", "participants.id", nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        _fk("sdv_marks", "verified_by", "users.id", nullable=False),
        _at("verified_at", now=True),
        _at("cleared_at"),
        sa.CheckConstraint(f"resource IN {RESOURCES}", name=op.f("ck_sdv_marks_resource")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sdv_marks")),
    )
    op.create_index(op.f("ix_sdv_marks_participant_id"), "sdv_marks", ["participant_id"])
    op.create_index(
        "uq_sdv_marks_record_current",
        "sdv_marks",
        ["record_id"],
        unique=True,
        postgresql_where=sa.text("cleared_at IS NULL"),
    )


def _queries() -> None:
    op.create_table(
        "queries",
        _id(),
        _fk("queries", "participant_id", "participants.id", nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(), nullable=True),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("status", sa.String(), server_default="open", nullable=False),
        sa.Column("automatic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        _fk("queries", "created_by", "users.id"),
        _at("created_at", now=True),
        _at("updated_at"),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(f"resource IN {RESOURCES}", name=op.f("ck_queries_resource")),
        sa.CheckConstraint(
            "status IN ('open','answered','closed')", name=op.f("ck_queries_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queries")),
    )
    op.create_index(op.f("ix_queries_participant_id"), "queries", ["participant_id"])
    op.create_index(op.f("ix_queries_status"), "queries", ["status"])
    op.create_table(
        "query_messages",
        _id(),
        _fk("query_messages", "query_id", "queries.id", nullable=False),
        _fk("query_messages", "participant_id", "participants.id", nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=True),
        sa.Column("correction_record_id", sa.Uuid(), nullable=True),
        _fk("query_messages", "author_user_id", "users.id"),
        sa.Column("author_role", sa.String(), nullable=True),
        _at("created_at", now=True),
        sa.CheckConstraint(
            "kind IN ('opened','response','closed','reopened','correction')",
            name=op.f("ck_query_messages_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_messages")),
    )
    op.create_index(op.f("ix_query_messages_query_id"), "query_messages", ["query_id"])


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("users", sa.Column("full_name", sa.String(), nullable=True))
    _locks()
    _signatures_and_sdv()
    _queries()
    op.execute("INSERT INTO study_lock (id, locked) VALUES (1, false)")
    for table in NEW_TABLES:
        op.execute(f"SELECT audit.enable('{table}')")
    op.execute(GUARD_WRITE)
    op.execute(AFTER_CHANGE)
    op.execute(SIGNATURE_IMMUTABLE)
    op.execute(
        "CREATE TRIGGER datamgmt_immutable BEFORE UPDATE ON signatures"
        " FOR EACH ROW EXECUTE FUNCTION datamgmt_signature_immutable()"
    )
    op.execute("ALTER TABLE signatures ENABLE ALWAYS TRIGGER datamgmt_immutable")
    for table in CLINICAL_TABLES:
        for statement in attach(table):
            op.execute(statement)


def downgrade() -> None:
    """Reviewed: the locks, signatures, SDV marks and queries go with their data (their audit
    rows stay: the trail is append-only); clinical tables are writable again."""
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in CLINICAL_TABLES:
        for statement in detach(table):
            op.execute(statement)
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
    op.execute("DROP FUNCTION datamgmt_signature_immutable()")
    op.execute("DROP FUNCTION datamgmt_after_change()")
    op.execute("DROP FUNCTION datamgmt_guard_write()")
    op.drop_column("users", "full_name")
