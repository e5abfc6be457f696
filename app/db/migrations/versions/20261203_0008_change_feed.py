"""change feed (SPEC §9.2, issue 11): an index that pages the audit trail by transaction

`GET /api/v1/changes` reads the trail (the view audit.trail, which the app role already may
read: 0006) in the order (txid, id), and only rows whose transaction id is below the xmin of
the reader's snapshot (docs/contract.md, "The change feed"). This index makes each page one
index range scan. No new privilege is needed.

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-03 00:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    # when earlier migrations run in the same transaction, their audit rows still wait for
    # the deferred chain_link trigger, and PostgreSQL refuses an index on a table with
    # pending trigger events: link them now, then defer again as the trigger is declared
    op.execute("SET CONSTRAINTS chain_link IMMEDIATE")
    op.create_index("ix_audit_log_txid_id", "audit_log", ["txid", "id"])
    op.execute("SET CONSTRAINTS chain_link DEFERRED")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_index("ix_audit_log_txid_id", table_name="audit_log")
