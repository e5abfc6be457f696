"""Time-driven events: `adverse_event.report_overdue` and `visit.overdue` (SPEC §12).

The delivery worker calls `scan` now and then, in a short transaction of its own. The clocks
are the domain's: the reporting clocks stored on each adverse event
(`app.domain.reporting_clocks`) and the visit schedule (`app.domain.visits`). Each event has
a subject key (`<ae id>:<report kind>`, `<participant id>:day<N>`) that is unique per type in
the outbox, so it happens once however many workers scan, and however often.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from app.db.repositories import webhook_rows
from app.domain import webhooks as rules
from app.domain.visits import visit_schedule
from app.services.events import record_event


async def scan(conn: asyncpg.Connection, now: datetime) -> int:
    """Emit what has become overdue since the last scan; the number of new events."""
    if not await webhook_rows.scan_lock(conn):
        return 0  # another worker is scanning
    return await _reports(conn, now) + await _visits(conn, now)


async def _new(conn: asyncpg.Connection, event_type: str, keys: list[str]) -> set[str]:
    return set(keys) - await webhook_rows.existing_subjects(conn, event_type, keys)


async def _reports(conn: asyncpg.Connection, now: datetime) -> int:
    made = 0
    for ae in await webhook_rows.unreported(conn, now):
        clocks = [
            ("sae_report", ae["report_due_at"], ae["reported_at"]),
            ("expedited_report", ae["expedited_due_at"], ae["expedited_reported_at"]),
            ("follow_up_report", ae["follow_up_due_at"], ae["follow_up_reported_at"]),
        ]
        due = {kind: at for kind, at, _ in clocks}
        kinds = rules.overdue_reports(clocks, now)
        keys = {f"{ae['id']}:{kind}": kind for kind in kinds}
        for key in await _new(conn, rules.AE_REPORT_OVERDUE, list(keys)):
            data = {"id": ae["id"], "report": keys[key], "due_at": due[keys[key]]}
            made += await _emit(conn, rules.AE_REPORT_OVERDUE, ae["participant_id"], data, key)
    return made


async def _visits(conn: asyncpg.Connection, now: datetime) -> int:
    made = 0
    for p in await webhook_rows.followed_up(conn):
        recorded = {
            int(k): date.fromisoformat(v) for k, v in json.loads(p["visits"] or "{}").items()
        }
        outcomes = {k: date.fromisoformat(v) for k, v in json.loads(p["outcomes"] or "{}").items()}
        today = now.astimezone(ZoneInfo(p["timezone"])).date()
        slots = visit_schedule(day1=p["day1"], recorded=recorded, outcomes=outcomes, today=today)
        overdue = {f"{p['id']}:day{s.visit_day}": s for s in rules.overdue_visits(slots)}
        for key in await _new(conn, rules.VISIT_OVERDUE, list(overdue)):
            slot = overdue[key]
            data = {
                "id": key,
                "visit_day": slot.visit_day,
                "target_date": slot.target_date,
                "window_end": slot.window_end,
            }
            made += await _emit(conn, rules.VISIT_OVERDUE, p["id"], data, key)
    return made


def _dates(text: str | None) -> dict[str, date]:
    return {k: date.fromisoformat(v) for k, v in json.loads(text or "{}").items()}


async def _emit(
    conn: asyncpg.Connection,
    event_type: str,
    participant_id: uuid.UUID,
    data: dict[str, Any],
    key: str,
) -> int:
    made = await record_event(conn, event_type, participant_id, data, subject_key=key)
    return 0 if made is None else 1
