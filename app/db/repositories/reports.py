"""Read-only queries behind the trial reports (every voided record left out)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AdverseEvent, Dose, Outcome, Participant, Randomization, Screening, Visit


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


async def latest_alive_visits(session: AsyncSession) -> dict[uuid.UUID, date]:
    rows = await session.execute(
        select(Visit.participant_id, func.max(Visit.visit_date))
        .where(Visit.vital_status == "alive", Visit.voided_at.is_(None))
        .group_by(Visit.participant_id)
    )
    return {pid: when for pid, when in rows}


async def visit_scores(session: AsyncSession) -> list[tuple[uuid.UUID, int, dict[str, Any]]]:
    rows = await session.execute(
        select(Visit.participant_id, Visit.visit_day, Visit.scores).where(Visit.voided_at.is_(None))
    )
    return [(pid, day, scores) for pid, day, scores in rows]


async def latest_screenings(session: AsyncSession) -> dict[uuid.UUID, Screening]:
    """Each participant's latest screening (the baseline, and the eligibility decision)."""
    rows = await session.scalars(select(Screening).order_by(Screening.created_at, Screening.id))
    return {s.participant_id: s for s in rows}  # later rows replace earlier ones


async def statuses(session: AsyncSession) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(Participant.id, Participant.status))
    return {pid: status for pid, status in rows}


async def dosed_participants(session: AsyncSession) -> set[uuid.UUID]:
    """Participants with at least one non-voided dose given."""
    rows = await session.scalars(
        select(Dose.participant_id)
        .where(Dose.status == "given", Dose.voided_at.is_(None))
        .distinct()
    )
    return set(rows)


async def adverse_events(session: AsyncSession) -> list[AdverseEvent]:
    rows = await session.scalars(select(AdverseEvent).where(AdverseEvent.voided_at.is_(None)))
    return list(rows)
