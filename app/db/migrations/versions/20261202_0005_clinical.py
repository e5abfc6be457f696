"""clinical correctness: the reporting clocks of SPEC §2.6 (amended)

`aware_at` is the site's first awareness and is never overwritten; an event that becomes
serious later records `serious_aware_at` (the 24-h clock runs from it); the sponsor-report call
records `sponsor_aware_at` (the SUSAR clock runs from it when known); a fatal or
life-threatening SUSAR gets `follow_up_due_at` (its expedited due time + 8 days) and, once
sent, `follow_up_reported_at`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("serious_aware_at", "sponsor_aware_at", "follow_up_due_at", "follow_up_reported_at")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for column in COLUMNS:
        op.add_column(
            "adverse_events", sa.Column(column, sa.DateTime(timezone=True), nullable=True)
        )
    # events recorded serious before this release became serious when the site learned of them
    op.execute(
        "UPDATE adverse_events SET serious_aware_at = aware_at, sponsor_aware_at = reported_at"
        " WHERE serious"
    )
    op.create_check_constraint(
        "serious_has_serious_aware_at",
        "adverse_events",
        "NOT serious OR serious_aware_at IS NOT NULL",
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_constraint(
        "ck_adverse_events_serious_has_serious_aware_at", "adverse_events", type_="check"
    )
    for column in reversed(COLUMNS):
        op.drop_column("adverse_events", column)
