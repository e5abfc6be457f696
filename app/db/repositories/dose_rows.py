"""Recording a dose on the driver connection: the dose and its protocol deviations in one
statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

WRITE = """
    WITH x AS (
        INSERT INTO doses (id, participant_id, dose_number, status, started_at, ended_at,
                           particles, volume_ml, lot_number, interruption_notes,
                           not_given_reason, deviation_reason, created_by, version)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)
        RETURNING id, created_at),
    d AS (
        INSERT INTO protocol_deviations (id, participant_id, kind, rule, detail, reason,
                                         record_table, record_id, created_by)
        SELECT f.id, $2, f.kind, f.rule, f.detail, coalesce($14, ''), 'doses', x.id, $13
        FROM x, unnest($15::uuid[], $16::text[], $17::text[], $18::text[])
             AS f(id, kind, rule, detail)
        RETURNING created_at)
    SELECT x.created_at, (SELECT min(created_at) FROM d) AS deviations_at FROM x
"""

COLUMNS = (
    "id",
    "participant_id",
    "dose_number",
    "status",
    "started_at",
    "ended_at",
    "particles",
    "volume_ml",
    "lot_number",
    "interruption_notes",
    "not_given_reason",
    "deviation_reason",
    "created_by",
)


async def write(
    conn: asyncpg.Connection,
    dose: dict[str, Any],
    deviations: Sequence[dict[str, Any]],
    deviation_reason: str | None,
) -> asyncpg.Record:
    """Insert the dose with its deviations; (created_at, deviations_at)."""
    finding_columns = [[d[n] for d in deviations] for n in ("id", "kind", "rule", "detail")]
    row: asyncpg.Record = await conn.fetchrow(
        WRITE, *(dose[c] for c in COLUMNS), deviation_reason, *finding_columns
    )
    return row
