"""Read-only queries behind the trial reports (every voided record left out)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import (
    AdverseEvent,
    Dose,
    LabResult,
    Outcome,
    Participant,
    Randomization,
    Screening,
    Site,
    Visit,
)
from app.domain.lab_changes import LabPoint


@dataclass(frozen=True, slots=True)
class Allocated:
    participant_id: uuid.UUID
    arm: str
    day1: date


async def allocations(session: AsyncSession) -> list[Allocated]:
    rows = await session.execute(
        select(Randomization.participant_id, Randomization.arm, Randomization.day1).order_by(
            Randomization.list_id, Randomization.sequence_number
        )
    )
    return [Allocated(pid, arm, day1) for pid, arm, day1 in rows]


async def outcomes(session: AsyncSession) -> list[tuple[uuid.UUID, str, date]]:
    rows = await session.execute(
        select(Outcome.participant_id, Outcome.type, Outcome.outcome_date).where(
            Outcome.voided_at.is_(None)
        )
    )
    return [(pid, kind, when) for pid, kind, when in rows]


async def alive_visits(session: AsyncSession) -> dict[uuid.UUID, list[tuple[int, date]]]:
    """Per participant, the (visit day, date) of every visit that found them alive."""
    rows = await session.execute(
        select(Visit.participant_id, Visit.visit_day, Visit.visit_date).where(
            Visit.vital_status == "alive", Visit.voided_at.is_(None)
        )
    )
    found: dict[uuid.UUID, list[tuple[int, date]]] = defaultdict(list)
    for pid, day, when in rows:
        found[pid].append((day, when))
    return found


async def dose_dates(session: AsyncSession) -> dict[uuid.UUID, tuple[date, date]]:
    """Per participant, the site-local dates of the first and the latest dose given."""
    first = func.timezone(Site.timezone, func.min(Dose.started_at))
    last = func.timezone(Site.timezone, func.max(Dose.started_at))
    rows = await session.execute(
        select(Dose.participant_id, cast(first, Date), cast(last, Date))
        .join(Participant, Participant.id == Dose.participant_id)
        .join(Site, Site.id == Participant.site_id)
        .where(Dose.status == "given", Dose.voided_at.is_(None))
        .group_by(Dose.participant_id, Site.timezone)
    )
    return {pid: (earliest, latest) for pid, earliest, latest in rows}


async def visit_scores(
    session: AsyncSession,
) -> list[tuple[uuid.UUID, int, date, dict[str, Any]]]:
    rows = await session.execute(
        select(Visit.participant_id, Visit.visit_day, Visit.visit_date, Visit.scores).where(
            Visit.voided_at.is_(None)
        )
    )
    return [(pid, day, when, scores) for pid, day, when, scores in rows]


async def latest_screenings(session: AsyncSession) -> dict[uuid.UUID, Screening]:
    """Each participant's latest screening (the baseline, and the eligibility decision)."""
    rows = await session.scalars(select(Screening).order_by(Screening.created_at, Screening.id))
    return {s.participant_id: s for s in rows}  # later rows replace earlier ones


async def statuses(session: AsyncSession) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(Participant.id, Participant.status))
    return {pid: status for pid, status in rows}


async def lab_points(session: AsyncSession) -> dict[uuid.UUID, list[LabPoint]]:
    """Every non-voided lab result of a randomized participant, with its site-local date."""
    local = cast(func.timezone(Site.timezone, LabResult.collected_at), Date)
    rows = await session.execute(
        select(
            LabResult.participant_id,
            LabResult.analyte,
            local,
            LabResult.collected_at,
            LabResult.canonical_value,
        )
        .join(Randomization, Randomization.participant_id == LabResult.participant_id)
        .join(Participant, Participant.id == LabResult.participant_id)
        .join(Site, Site.id == Participant.site_id)
        .where(LabResult.voided_at.is_(None))
    )
    found: dict[uuid.UUID, list[LabPoint]] = defaultdict(list)
    for pid, analyte, on, collected_at, value in rows:
        found[pid].append(LabPoint(analyte, on, collected_at, value))
    return found


async def adverse_events(session: AsyncSession) -> list[AdverseEvent]:
    rows = await session.scalars(select(AdverseEvent).where(AdverseEvent.voided_at.is_(None)))
    return list(rows)
