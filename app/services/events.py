"""`record_event`: the one way a change announces itself to webhook subscribers (SPEC §12).

Called by the service that makes the change, inside the request's transaction, on the ORM
session or the driver connection (both are the same connection): the event and its
deliveries commit with the change or vanish with it. Nothing is sent here; the delivery
worker (`app.services.delivery`) picks the rows up after the commit.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.db.repositories import webhook_rows
from app.domain import webhooks as rules


async def driver_connection(target: AsyncSession | asyncpg.Connection) -> asyncpg.Connection:
    """The asyncpg connection under a request's session (RequestDb binds both to one)."""
    if isinstance(target, asyncpg.Connection):
        return target
    connection = await target.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return driver


async def record_event(
    target: AsyncSession | asyncpg.Connection,
    event_type: str,
    participant_id: uuid.UUID,
    data: dict[str, Any],
    *,
    subject_key: str | None = None,
) -> uuid.UUID | None:
    """Write one event (with `participant_id`, `study_id` and `site_code` added to `data`)
    and a delivery per matching subscription. A `subject_key` makes the event happen once
    (time-driven events): the id is None when it already exists."""
    assert event_type in rules.EVENT_TYPES, event_type
    now = clock.utc_now()
    body = json.dumps(to_jsonable_python(rules.payload(event_type, now, data)))
    conn = await driver_connection(target)
    return await webhook_rows.record(conn, event_type, participant_id, body, now, subject_key)
