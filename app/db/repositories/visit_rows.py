"""Recording a visit on the driver connection: the visit, its typed lab results and its
protocol deviations in one statement; the completion (Day 84) in a second one, with its reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

WRITE = """
    WITH v AS (
        INSERT INTO visits (id, participant_id, visit_day, visit_date, vital_status, labs,
                            he_grade, ascites, symptoms, age_years, scores, deviation_reason,
                            created_by, version)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::jsonb, $10, $11::jsonb, $12, $13, 1)
        RETURNING id, created_at),
    r AS (
        INSERT INTO lab_results (id, participant_id, analyte, value, unit, canonical_value,
                                 canonical_unit, loinc, collected_at, source, visit_id,
                                 created_by, version)
        SELECT x.id, $2, x.analyte, x.value, x.unit, x.canonical_value, x.canonical_unit,
               x.loinc, $14, 'visit', v.id, $13, 1
        FROM v, unnest($15::uuid[], $16::text[], $17::numeric[], $18::text[], $19::numeric[],
                       $20::text[], $21::text[])
             AS x(id, analyte, value, unit, canonical_value, canonical_unit, loinc)),
    d AS (
        INSERT INTO protocol_deviations (id, participant_id, kind, rule, detail, reason,
                                         record_table, record_id, created_by)
        SELECT x.id, $2, x.kind, x.rule, x.detail, coalesce($12, ''), 'visits', v.id, $13
        FROM v, unnest($22::uuid[], $23::text[], $24::text[], $25::text[])
             AS x(id, kind, rule, detail)
        RETURNING created_at)
    SELECT v.created_at, (SELECT min(created_at) FROM d) AS deviations_at FROM v
"""

COMPLETE = """
    UPDATE participants SET status = 'completed', updated_at = $2, version = version + 1
    FROM (SELECT set_config('trial.reason', $3, true)) AS why
    WHERE id = $1
"""

RESULT_COLUMNS = ("id", "analyte", "value", "unit", "canonical_value", "canonical_unit", "loinc")


async def write(
    conn: asyncpg.Connection,
    visit: dict[str, Any],
    results: Sequence[Any],
    deviations: Sequence[dict[str, Any]],
    *,
    collected_at: datetime,
) -> asyncpg.Record:
    """Insert the visit with its results and deviations; (created_at, deviations_at)."""
    result_columns = [[getattr(r, name) for r in results] for name in RESULT_COLUMNS]
    deviation_columns = [[d[n] for d in deviations] for n in ("id", "kind", "rule", "detail")]
    row: asyncpg.Record = await conn.fetchrow(
        WRITE,
        visit["id"],
        visit["participant_id"],
        visit["visit_day"],
        visit["visit_date"],
        visit["vital_status"],
        json.dumps(visit["labs"]),
        visit["he_grade"],
        visit["ascites"],
        None if visit["symptoms"] is None else json.dumps(visit["symptoms"]),
        visit["age_years"],
        json.dumps(visit["scores"]),
        visit["deviation_reason"],
        visit["created_by"],
        collected_at,
        *result_columns,
        *deviation_columns,
    )
    return row


async def complete(
    conn: asyncpg.Connection, participant_id: uuid.UUID, now: datetime, reason: str
) -> None:
    await conn.execute(COMPLETE, participant_id, now, reason)
