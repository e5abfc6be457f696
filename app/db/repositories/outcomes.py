"""Outcomes and the clinical dates an outcome's date is checked against."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AdverseEvent, Dose, Outcome, Visit


async def for_participant(session: AsyncSession, participant_id: uuid.UUID) -> list[Outcome]:
    """Recorded (non-voided) outcomes, oldest first."""
    rows = await session.scalars(
        select(Outcome)
        .where(Outcome.participant_id == participant_id, Outcome.voided_at.is_(None))
        .order_by(Outcome.outcome_date, Outcome.created_at)
    )
    return list(rows)


async def death_date(session: AsyncSession, participant_id: uuid.UUID) -> date | None:
    return await session.scalar(
        select(Outcome.outcome_date).where(
            Outcome.participant_id == participant_id,
            Outcome.type == "death",
            Outcome.voided_at.is_(None),
        )
    )


async def latest_alive_visit(session: AsyncSession, participant_id: uuid.UUID) -> date | None:
    return await session.scalar(
        select(func.max(Visit.visit_date)).where(
            Visit.participant_id == participant_id,
            Visit.vital_status == "alive",
            Visit.voided_at.is_(None),
        )
    )


async def earliest_dead_visit(session: AsyncSession, participant_id: uuid.UUID) -> date | None:
    return await session.scalar(
        select(func.min(Visit.visit_date)).where(
            Visit.participant_id == participant_id,
            Visit.vital_status == "dead",
            Visit.voided_at.is_(None),
        )
    )


async def latest_dose_start(session: AsyncSession, participant_id: uuid.UUID) -> datetime | None:
    """The latest given dose's start (a dose proves the participant alive)."""
    return await session.scalar(
        select(func.max(Dose.started_at)).where(
            Dose.participant_id == participant_id,
            Dose.status == "given",
            Dose.voided_at.is_(None),
        )
    )


async def latest_adverse_event_date(
    session: AsyncSession, participant_id: uuid.UUID
) -> date | None:
    """The latest onset or end date of a recorded adverse event."""
    latest: date | None = await session.scalar(
        select(func.max(func.greatest(AdverseEvent.onset_date, AdverseEvent.end_date))).where(
            AdverseEvent.participant_id == participant_id, AdverseEvent.voided_at.is_(None)
        )
    )
    return latest
