"""Screening on the driver connection: lock the participant, write everything in one statement.

A screening writes the assessment, its typed lab results (SPEC §7) and the participant's new
status. One statement with data-modifying CTEs does all three (every row still goes through
its audit trigger), so the write costs one round trip however many labs were typed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

LOCK = """
    SELECT p.id, p.status, p.date_of_birth, p.site_id, s.timezone
    FROM participants p JOIN sites s ON s.id = p.site_id
    WHERE p.id = $1 AND ($2::uuid IS NULL OR p.site_id = $2)
    FOR UPDATE OF p
"""

WRITE = """
    WITH s AS (
        INSERT INTO screenings (id, participant_id, assessment_date, labs, tbil_uln_umol_l,
                                he_grade, ascites, aclf_diagnosis_confirmed, age_years, eligible,
                                reasons, scores, symptoms, created_by)
        VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb,
                $13::jsonb, $14)
        RETURNING id, created_at),
    r AS (
        INSERT INTO lab_results (id, participant_id, analyte, value, unit, canonical_value,
                                 canonical_unit, loinc, collected_at, source, screening_id,
                                 created_by, version)
        SELECT x.id, $2, x.analyte, x.value, x.unit, x.canonical_value, x.canonical_unit,
               x.loinc, $15, 'screening', s.id, $14, 1
        FROM s, unnest($16::uuid[], $17::text[], $18::numeric[], $19::text[], $20::numeric[],
                       $21::text[], $22::text[])
             AS x(id, analyte, value, unit, canonical_value, canonical_unit, loinc)),
    p AS (
        UPDATE participants SET status = $23, updated_at = $24, version = version + 1
        WHERE id = $2 RETURNING id)
    SELECT s.created_at FROM s, p
"""

RESULT_COLUMNS = ("id", "analyte", "value", "unit", "canonical_value", "canonical_unit", "loinc")


async def lock(
    conn: asyncpg.Connection, participant_id: uuid.UUID, site_id: uuid.UUID | None
) -> asyncpg.Record | None:
    """The participant (row-locked: one state change at a time) and its site's time zone."""
    row: asyncpg.Record | None = await conn.fetchrow(LOCK, participant_id, site_id)
    return row


async def write(
    conn: asyncpg.Connection,
    screening: dict[str, Any],
    results: Sequence[Any],
    *,
    collected_at: datetime,
    status: str,
    now: datetime,
) -> datetime:
    """Insert the screening and its results, move the participant; the creation time."""
    columns = [[getattr(r, name) for r in results] for name in RESULT_COLUMNS]
    created_at: datetime = await conn.fetchval(
        WRITE,
        screening["id"],
        screening["participant_id"],
        screening["assessment_date"],
        json.dumps(screening["labs"]),
        screening["tbil_uln_umol_l"],
        screening["he_grade"],
        screening["ascites"],
        screening["aclf_diagnosis_confirmed"],
        screening["age_years"],
        screening["eligible"],
        json.dumps(screening["reasons"]),
        json.dumps(screening["scores"]),
        None if screening["symptoms"] is None else json.dumps(screening["symptoms"]),
        screening["created_by"],
        collected_at,
        *columns,
        status,
        now,
    )
    return created_at
