"""Shared by the dose, visit and deviation API tests: study-day times and time travel.

Randomization makes Day 1 "today" at the site, so a dose or visit on a later study day would
need a real future date. The services read the clock only through `app.clock.utc_now()` (the
module attribute), so one `monkeypatch.setattr(app.clock, "utc_now", ...)` moves "now" for
every rule that depends on it (future dates, schedule statuses). Randomization itself still
uses the real clock, so participants are randomized first and time travel comes after.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from app import clock
from app.domain import protocol
from app.domain.study_days import date_of_study_day
from tests.helpers import Actor, make_randomized

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the default site time zone
DOSE_PARTICLES = protocol.DOSE_PARTICLES
TWO_HOURS_FIVE = timedelta(minutes=125)

Travel = Callable[..., datetime]


def local(
    day1: date, day: int, hour: int = 9, minute: int = 0, tz: ZoneInfo = SHANGHAI
) -> datetime:
    """A site-local time on a study day."""
    d = date_of_study_day(day1, day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz)


def time_machine(monkeypatch: pytest.MonkeyPatch) -> Travel:
    """`travel(day1, day, hour=23)`: make "now" that site-local time on that study day.

    Each test module wraps this in its own `travel` fixture.
    """

    def to(
        day1: date, day: int, hour: int = 23, minute: int = 0, tz: ZoneInfo = SHANGHAI
    ) -> datetime:
        moment = local(day1, day, hour, minute, tz).astimezone(UTC)
        monkeypatch.setattr(clock, "utc_now", lambda: moment)
        return moment

    return to


def dose_body(day1: date, n: int, day: int | None = None, **overrides: Any) -> dict[str, Any]:
    """An on-protocol given dose `n` on its target day (or `day`) at 09:00 site time."""
    start = overrides.pop("start", None) or local(
        day1, day or protocol.DOSE_WINDOWS[n].target_day, 9
    )
    minutes = overrides.pop("minutes", 125)
    body: dict[str, Any] = {
        "dose_number": n,
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=minutes)).isoformat(),
        "particles": DOSE_PARTICLES,
        "volume_ml": 100,
        "lot_number": "EVS-LOT-1",
    }
    body.update(overrides)
    return body


def labs(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "inr": {"value": 1.6, "unit": "1"},
        "total_bilirubin": {"value": 180, "unit": "umol/L"},
        "neutrophils": {"value": 3.0, "unit": "10*9/L"},
        "urea": {"value": 5.0, "unit": "mmol/L"},
        "albumin": {"value": 32, "unit": "g/L"},
    }
    values.update(overrides)
    return values


SYMPTOMS = {"fatigue": 2, "anorexia": 1, "nausea": 0, "jaundice": 2, "consciousness": 0}


def visit_body(day1: date, visit_day: int, on_day: int | None = None, **overrides: Any):
    body: dict[str, Any] = {
        "visit_day": visit_day,
        "visit_date": date_of_study_day(day1, visit_day if on_day is None else on_day).isoformat(),
        "vital_status": "alive",
        "labs": labs(),
        "he_grade": 1,
        "ascites": "mild",
        "symptoms": SYMPTOMS,
    }
    body.update(overrides)
    return body


async def randomized(
    client: httpx.AsyncClient, admin: dict[str, str], actor: Actor, arm: str | None = "exosome"
) -> tuple[str, date]:
    """A randomized participant's id and Day 1."""
    p, allocation = await make_randomized(client, admin, actor, arm=arm)
    return str(p["id"]), date.fromisoformat(allocation["day1"])


async def record_death(db: asyncpg.Connection, participant_id: str, on: date) -> None:
    """Behind the service's back (outcomes are another capability): death + status died."""
    await db.execute(
        "INSERT INTO outcomes (participant_id, type, outcome_date) VALUES ($1, 'death', $2)",
        participant_id,
        on,
    )
    await db.execute(
        "UPDATE participants SET status = 'died', version = version + 1 WHERE id = $1",
        participant_id,
    )


async def audit_of(
    client: httpx.AsyncClient, admin: dict[str, str], table: str, record_id: str
) -> list[dict[str, Any]]:
    r = await client.get(
        "/api/v1/audit", params={"table": table, "record_id": record_id}, headers=admin
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])
