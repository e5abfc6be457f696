"""The treatment context of one participant, in one locked statement on the driver connection.

Recording a dose or a visit needs the participant (locked: one state change at a time), the
site's time zone, the allocation, the date of each recorded outcome, the visit days and doses
already recorded and the date of the Day 84 visit. One statement returns them all.
"""

from __future__ import annotations

import uuid

import asyncpg

CONTEXT = """
    SELECT p.id, p.status, p.date_of_birth, p.site_id, s.timezone,
           r.arm, r.day1, r.randomized_at,
           o.kinds AS outcome_kinds, o.dates AS outcome_dates,
           v.days AS visit_days, v.final_date AS final_visit_date,
           d.numbers AS dose_numbers, d.statuses AS dose_statuses,
           d.starts AS dose_starts, d.ends AS dose_ends
    FROM participants p
    JOIN sites s ON s.id = p.site_id
    LEFT JOIN randomizations r ON r.participant_id = p.id
    LEFT JOIN LATERAL (
        SELECT array_agg(type) AS kinds, array_agg(first) AS dates
        FROM (SELECT type, min(outcome_date) AS first FROM outcomes
              WHERE participant_id = p.id AND voided_at IS NULL GROUP BY type) x) o ON true
    LEFT JOIN LATERAL (
        SELECT array_agg(visit_day) AS days,
               max(visit_date) FILTER (WHERE visit_day = $3) AS final_date
        FROM visits WHERE participant_id = p.id AND voided_at IS NULL) v ON true
    LEFT JOIN LATERAL (
        SELECT array_agg(dose_number ORDER BY dose_number) AS numbers,
               array_agg(status ORDER BY dose_number) AS statuses,
               array_agg(started_at ORDER BY dose_number) AS starts,
               array_agg(ended_at ORDER BY dose_number) AS ends
        FROM doses WHERE participant_id = p.id AND voided_at IS NULL) d ON true
    WHERE p.id = $1 AND ($2::uuid IS NULL OR p.site_id = $2)
    FOR UPDATE OF p
"""


async def context(
    conn: asyncpg.Connection, participant_id: uuid.UUID, site_id: uuid.UUID | None, final_day: int
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(CONTEXT, participant_id, site_id, final_day)
    return row
