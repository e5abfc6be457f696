"""Adverse events: per participant, across participants (with clock filters) and doses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Date, Select, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.db.models import AdverseEvent, Dose, Participant, Randomization, Site


@dataclass(frozen=True, slots=True)
class AeFilter:
    """Filters of the cross-participant list; `now` decides what is due or overdue."""

    now: datetime
    site_id: uuid.UUID | None = None
    participant_id: uuid.UUID | None = None
    serious: bool | None = None
    susar: bool | None = None
    overdue: bool | None = None
    due: bool | None = None


def _unreported(
    due_col: InstrumentedAttribute[datetime | None],
    reported_col: InstrumentedAttribute[datetime | None],
) -> ColumnElement[bool]:
    return and_(due_col.is_not(None), reported_col.is_(None))


async def get(session: AsyncSession, ae_id: uuid.UUID) -> AdverseEvent | None:
    return await session.get(AdverseEvent, ae_id)


async def get_for_update(session: AsyncSession, ae_id: uuid.UUID) -> AdverseEvent | None:
    return await session.scalar(
        select(AdverseEvent)
        .where(AdverseEvent.id == ae_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def first_dose_start(session: AsyncSession, participant_id: uuid.UUID) -> datetime | None:
    """The start of the earliest non-voided dose actually given."""
    return await session.scalar(
        select(func.min(Dose.started_at)).where(
            Dose.participant_id == participant_id,
            Dose.status == "given",
            Dose.voided_at.is_(None),
        )
    )


async def exposures(
    session: AsyncSession, participant_ids: set[uuid.UUID]
) -> list[tuple[uuid.UUID, str | None, date | None, date | None]]:
    """(participant, arm, Day 1, site-local date of the first dose given) of each one."""
    if not participant_ids:
        return []
    first_dose = (
        select(func.min(Dose.started_at))
        .where(
            Dose.participant_id == Participant.id,
            Dose.status == "given",
            Dose.voided_at.is_(None),
        )
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Participant.id,
            Randomization.arm,
            Randomization.day1,
            cast(func.timezone(Site.timezone, first_dose), Date),
        )
        .join(Site, Site.id == Participant.site_id)
        .outerjoin(Randomization, Randomization.participant_id == Participant.id)
        .where(Participant.id.in_(participant_ids))
    )
    return [(pid, arm, day1, dosed) for pid, arm, day1, dosed in rows]


async def dose(session: AsyncSession, dose_id: uuid.UUID) -> Dose | None:
    return await session.get(Dose, dose_id)


def _filtered(query: Select, f: AeFilter) -> Select:  # type: ignore[type-arg]
    query = query.where(AdverseEvent.voided_at.is_(None))
    if f.site_id is not None:
        query = query.where(Participant.site_id == f.site_id)
    if f.participant_id is not None:
        query = query.where(AdverseEvent.participant_id == f.participant_id)
    if f.serious is not None:
        query = query.where(AdverseEvent.serious == f.serious)
    if f.susar is not None:
        query = query.where(AdverseEvent.susar == f.susar)
    clocks = (
        (AdverseEvent.report_due_at, AdverseEvent.reported_at),
        (AdverseEvent.expedited_due_at, AdverseEvent.expedited_reported_at),
        (AdverseEvent.follow_up_due_at, AdverseEvent.follow_up_reported_at),
    )
    open_reports = [(due, _unreported(due, done)) for due, done in clocks]
    late = or_(*(and_(unreported, due < f.now) for due, unreported in open_reports))
    if f.overdue is not None:
        query = query.where(late if f.overdue else ~late)
    if f.due is not None:
        pending = or_(*(unreported for _, unreported in open_reports))
        query = query.where(pending if f.due else ~pending)
    return query


async def list_events(
    session: AsyncSession, f: AeFilter, *, limit: int, offset: int
) -> tuple[list[tuple[AdverseEvent, str]], int]:
    base = select(AdverseEvent, Participant.study_id).join(
        Participant, Participant.id == AdverseEvent.participant_id
    )
    query = _filtered(base, f)
    count = _filtered(
        select(func.count())
        .select_from(AdverseEvent)
        .join(Participant, Participant.id == AdverseEvent.participant_id),
        f,
    )
    total = await session.scalar(count) or 0
    rows = await session.execute(
        query.order_by(AdverseEvent.aware_at, AdverseEvent.id).limit(limit).offset(offset)
    )
    return [(ae, study_id) for ae, study_id in rows], total
