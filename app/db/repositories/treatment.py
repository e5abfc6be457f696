"""Doses, visits, protocol deviations, and the facts about a participant they depend on."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Dose, Outcome, Participant, ProtocolDeviation, Screening, Site, Visit
from app.domain import protocol


async def site_timezone(session: AsyncSession, site_id: uuid.UUID) -> str:
    return str(await session.scalar(select(Site.timezone).where(Site.id == site_id)))


async def outcome_dates(session: AsyncSession, participant_id: uuid.UUID) -> dict[str, date]:
    """The earliest date of each non-voided outcome type (e.g. {'death': ...})."""
    rows = await session.execute(
        select(Outcome.type, func.min(Outcome.outcome_date))
        .where(Outcome.participant_id == participant_id, Outcome.voided_at.is_(None))
        .group_by(Outcome.type)
    )
    return {kind: day for kind, day in rows}


async def final_visit_date(session: AsyncSession, participant_id: uuid.UUID) -> date | None:
    """The date of the (non-voided) Day 84 visit: when follow-up was completed."""
    return await session.scalar(
        select(Visit.visit_date).where(
            Visit.participant_id == participant_id,
            Visit.visit_day == protocol.FINAL_VISIT_DAY,
            Visit.voided_at.is_(None),
        )
    )


async def baseline_screening(
    session: AsyncSession, participant_id: uuid.UUID, randomized_at: datetime
) -> Screening | None:
    """The latest screening recorded at or before randomization."""
    return await session.scalar(
        select(Screening)
        .where(Screening.participant_id == participant_id, Screening.created_at <= randomized_at)
        .order_by(Screening.created_at.desc(), Screening.id.desc())
        .limit(1)
    )


# --- doses ---------------------------------------------------------------------------------------


async def doses(session: AsyncSession, participant_id: uuid.UUID) -> list[Dose]:
    rows = await session.scalars(
        select(Dose)
        .where(Dose.participant_id == participant_id, Dose.voided_at.is_(None))
        .order_by(Dose.dose_number)
    )
    return list(rows)


async def dose_for_update(
    session: AsyncSession, participant_id: uuid.UUID, dose_id: uuid.UUID
) -> Dose | None:
    return await session.scalar(
        select(Dose)
        .where(Dose.id == dose_id, Dose.participant_id == participant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def dose(session: AsyncSession, participant_id: uuid.UUID, dose_id: uuid.UUID) -> Dose | None:
    return await session.scalar(
        select(Dose).where(Dose.id == dose_id, Dose.participant_id == participant_id)
    )


# --- visits --------------------------------------------------------------------------------------


async def visits(session: AsyncSession, participant_id: uuid.UUID) -> list[Visit]:
    rows = await session.scalars(
        select(Visit)
        .where(Visit.participant_id == participant_id, Visit.voided_at.is_(None))
        .order_by(Visit.visit_day)
    )
    return list(rows)


async def visit(
    session: AsyncSession, participant_id: uuid.UUID, visit_id: uuid.UUID
) -> Visit | None:
    return await session.scalar(
        select(Visit).where(Visit.id == visit_id, Visit.participant_id == participant_id)
    )


async def visit_for_update(
    session: AsyncSession, participant_id: uuid.UUID, visit_id: uuid.UUID
) -> Visit | None:
    return await session.scalar(
        select(Visit)
        .where(Visit.id == visit_id, Visit.participant_id == participant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


# --- protocol deviations ----------------------------------------------------------------------


async def deviations_of(
    session: AsyncSession, record_table: str, record_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[ProtocolDeviation]]:
    """The non-voided deviations of each record, oldest first."""
    ids = list(record_ids)
    found: dict[uuid.UUID, list[ProtocolDeviation]] = defaultdict(list)
    if not ids:
        return found
    rows = await session.scalars(
        select(ProtocolDeviation)
        .where(
            ProtocolDeviation.record_table == record_table,
            ProtocolDeviation.record_id.in_(ids),
            ProtocolDeviation.voided_at.is_(None),
        )
        .order_by(ProtocolDeviation.created_at, ProtocolDeviation.id)
    )
    for row in rows:
        found[row.record_id].append(row)
    return found


async def list_deviations(
    session: AsyncSession,
    *,
    site_id: uuid.UUID | None,
    participant_id: uuid.UUID | None,
    kind: str | None,
    include_voided: bool,
    limit: int,
    offset: int,
) -> tuple[list[ProtocolDeviation], int]:
    query = select(ProtocolDeviation).join(
        Participant, Participant.id == ProtocolDeviation.participant_id
    )
    if site_id is not None:
        query = query.where(Participant.site_id == site_id)
    if participant_id is not None:
        query = query.where(ProtocolDeviation.participant_id == participant_id)
    if kind is not None:
        query = query.where(ProtocolDeviation.kind == kind)
    if not include_voided:
        query = query.where(ProtocolDeviation.voided_at.is_(None))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(ProtocolDeviation.created_at, ProtocolDeviation.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


# --- voiding -------------------------------------------------------------------------------------


async def record_for_update(
    session: AsyncSession, model: type[Any], participant_id: uuid.UUID, record_id: uuid.UUID
) -> Any:
    """A dose, visit or adverse event of this participant, row-locked."""
    return await session.scalar(
        select(model)
        .where(model.id == record_id, model.participant_id == participant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def live_deviations_of(
    session: AsyncSession, record_table: str, record_id: uuid.UUID
) -> list[ProtocolDeviation]:
    return list((await deviations_of(session, record_table, [record_id]))[record_id])
