"""CDISC exports (SPEC §11, issue 13): the audited record of every export

`exports`: who made an export (`created_by`) and when (`created_at`), what (`kind` sdtm or
odm, the `standard`, `row_counts` per dataset or table, `audit_head_id`: the last audit-trail
row the data reflects) and the SHA-256 and size of the exact file sent. Audited by the usual
trigger; the app role gets SELECT/INSERT/UPDATE through the default privileges of 0006.

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-02 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "exports",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("standard", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("row_counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("audit_head_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('sdtm','odm')", name=op.f("ck_exports_kind")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_exports_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    op.create_index(op.f("ix_exports_created_by"), "exports", ["created_by"])
    op.execute("SELECT audit.enable('exports')")


def downgrade() -> None:
    # Dropping the table drops its audit trigger with it; the audit_log rows of past exports
    # stay (the trail is append-only), so who exported what remains on record.
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_index(op.f("ix_exports_created_by"), table_name="exports")
    op.drop_table("exports")
