"""The outbox and its deliveries on the driver connection (SPEC §12).

`RECORD` writes an event and fans it out to every matching active subscription in one
statement, inside the caller's transaction. The worker's statements each run in a short
transaction of their own: `CLAIM` takes due deliveries with FOR UPDATE SKIP LOCKED and
pushes `next_attempt_at` forward by the lease (a crashed worker's claim expires and the row
is taken again); the result is written afterwards, guarded by the attempt number so that a
late answer never overwrites a newer claim.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

RECORD = """
    WITH subject AS (
        SELECT p.site_id, s.code, p.study_id
        FROM participants p JOIN sites s ON s.id = p.site_id WHERE p.id = $3),
    event AS (
        INSERT INTO webhook_events (type, subject_key, site_id, payload, occurred_at)
        SELECT $1, $2, subject.site_id,
               jsonb_set($4::jsonb, '{data}', ($4::jsonb -> 'data') || jsonb_build_object(
                   'participant_id', $3::text, 'study_id', subject.study_id,
                   'site_code', subject.code)),
               $5
        FROM subject
        ON CONFLICT (type, subject_key) DO NOTHING
        RETURNING id, site_id),
    fanned AS (
        INSERT INTO webhook_deliveries (event_id, subscription_id)
        SELECT event.id, s.id
        FROM event JOIN webhook_subscriptions s
          ON s.active AND $1 = ANY (s.events)
             AND (s.site_id IS NULL OR s.site_id = event.site_id)
        RETURNING 1)
    SELECT (SELECT id FROM event) AS id, (SELECT count(*) FROM fanned) AS deliveries
"""

CLAIM = """
    WITH due AS (
        SELECT d.id FROM webhook_deliveries d
        WHERE d.status = 'pending' AND d.next_attempt_at <= clock_timestamp()
        ORDER BY d.next_attempt_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED)
    UPDATE webhook_deliveries d
    SET next_attempt_at = clock_timestamp() + make_interval(secs => $2),
        attempts = d.attempts + 1, last_attempt_at = clock_timestamp()
    FROM due, webhook_events e, webhook_subscriptions s
    WHERE d.id = due.id AND e.id = d.event_id AND s.id = d.subscription_id
    RETURNING d.id, d.attempts, d.created_at, e.id AS event_id, e.payload::text AS body,
              e.occurred_at, s.url, s.id AS subscription_id, s.secret_ciphertext
"""

FINISH = """
    UPDATE webhook_deliveries
    SET status = $3, last_status_code = $4, last_error = $5, finished_at = clock_timestamp()
    WHERE id = $1 AND attempts = $2 AND status = 'pending'
"""

RETRY = """
    UPDATE webhook_deliveries
    SET next_attempt_at = $3, last_status_code = $4, last_error = $5
    WHERE id = $1 AND attempts = $2 AND status = 'pending'
"""

EXISTING = """
    SELECT subject_key FROM webhook_events WHERE type = $1 AND subject_key = ANY ($2::text[])
"""

ENTER_ROLE = "SELECT set_config('role', $1, true)"


async def record(
    conn: asyncpg.Connection,
    event_type: str,
    participant_id: uuid.UUID,
    payload_json: str,
    occurred_at: datetime,
    subject_key: str | None = None,
) -> uuid.UUID | None:
    """The new event's id (None: this time-driven event exists already). The participant's
    id, study id and site code are added to `data` here, from the participant's row."""
    row = await conn.fetchrow(
        RECORD, event_type, subject_key, participant_id, payload_json, occurred_at
    )
    return None if row is None else row["id"]


async def claim(conn: asyncpg.Connection, limit: int, lease_seconds: float) -> list[asyncpg.Record]:
    return list(await conn.fetch(CLAIM, limit, lease_seconds))


async def finish(
    conn: asyncpg.Connection,
    delivery_id: uuid.UUID,
    attempts: int,
    status: str,
    status_code: int | None,
    error: str | None,
) -> None:
    await conn.execute(FINISH, delivery_id, attempts, status, status_code, error)


async def retry(
    conn: asyncpg.Connection,
    delivery_id: uuid.UUID,
    attempts: int,
    at: datetime,
    status_code: int | None,
    error: str | None,
) -> None:
    await conn.execute(RETRY, delivery_id, attempts, at, status_code, error)


async def existing_subjects(
    conn: asyncpg.Connection, event_type: str, keys: Sequence[str]
) -> set[str]:
    """The subject keys of this time-driven type already in the outbox."""
    return {r["subject_key"] for r in await conn.fetch(EXISTING, event_type, list(keys))}


# --- time-driven events: what may have passed its clock --------------------------------------
SCAN_LOCK = "SELECT pg_try_advisory_xact_lock(7245000012)"  # one scanner at a time

UNREPORTED = """
    SELECT a.id, a.participant_id, a.report_due_at, a.reported_at, a.expedited_due_at,
           a.expedited_reported_at, a.follow_up_due_at, a.follow_up_reported_at
    FROM adverse_events a
    WHERE a.voided_at IS NULL
      AND ((a.report_due_at < $1 AND a.reported_at IS NULL)
           OR (a.expedited_due_at < $1 AND a.expedited_reported_at IS NULL)
           OR (a.follow_up_due_at < $1 AND a.follow_up_reported_at IS NULL))
"""

FOLLOWED_UP = """
    SELECT p.id, r.day1, s.timezone,
           (SELECT jsonb_object_agg(v.visit_day::text, v.visit_date::text) FROM visits v
            WHERE v.participant_id = p.id AND v.voided_at IS NULL)::text AS visits,
           (SELECT jsonb_object_agg(o.type, o.first::text) FROM (
                SELECT type, min(outcome_date) AS first FROM outcomes
                WHERE participant_id = p.id AND voided_at IS NULL GROUP BY type) o)::text
             AS outcomes
    FROM participants p
    JOIN randomizations r ON r.participant_id = p.id
    JOIN sites s ON s.id = p.site_id
"""


async def scan_lock(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval(SCAN_LOCK))


async def unreported(conn: asyncpg.Connection, now: datetime) -> list[asyncpg.Record]:
    return list(await conn.fetch(UNREPORTED, now))


async def followed_up(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch(FOLLOWED_UP))
