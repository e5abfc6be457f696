"""Queries behind the FHIR reads and searches: one site filter, FHIR date semantics, paging.

Every query joins `participants` and, for a site-bound caller, keeps that site's rows only
(another site's record is indistinguishable from a missing one). Date parameters compare the
target's range [start, end) with the parameter's range (FHIR R4 §3.1.1.5.1): an instant is a
range of one microsecond, a date the UTC day.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    TIMESTAMP,
    ColumnElement,
    DateTime,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import (
    AdverseEvent,
    Dose,
    Outcome,
    Participant,
    Randomization,
    Site,
    Visit,
)
from app.domain.protocol import DOSE_WINDOWS
from app.interop.fhir.search import DateBound

ONE_MICROSECOND = timedelta(microseconds=1)
ONE_DAY = timedelta(days=1)
OUTCOME_OF_STATUS = {
    "died": "death",
    "withdrawn": "withdrawn",
    "lost_to_follow_up": "lost_to_follow_up",
}


@dataclass(frozen=True, slots=True)
class Filter:
    """What a search (or a read) may return: the caller's site, patients, dates."""

    site_id: uuid.UUID | None = None  # a site-bound caller's site
    patients: frozenset[uuid.UUID] | None = None
    dates: tuple[tuple[Any, Any, DateBound], ...] = ()  # (start, end, bound)
    extra: tuple[Any, ...] = ()  # further conditions (e.g. one record's id)

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.site_id is not None:
            out.append(Participant.site_id == self.site_id)
        if self.patients is not None:
            out.append(Participant.id.in_(self.patients) if self.patients else false())
        out += [date_clause(bound, start, end) for start, end, bound in self.dates]
        return [*out, *self.extra]


def date_clause(bound: DateBound, start: Any, end: Any) -> Any:
    low, high = bound.low, bound.high
    inside = and_(start >= low, end <= high)
    match bound.prefix:
        case "eq":
            return inside
        case "ne":
            return not_(inside)
        case "gt":
            return end > high
        case "lt":
            return start < low
        case "ge":
            return or_(end > high, inside)
        case "le":
            return or_(start < low, inside)
        case "sa":
            return start >= high
        case _:  # eb
            return end <= low


def instant(column: Any) -> tuple[Any, Any]:
    return column, column + ONE_MICROSECOND


def day(column: Any) -> tuple[Any, Any]:
    """A date as its UTC day."""
    start = func.timezone("UTC", cast(column, TIMESTAMP), type_=DateTime(timezone=True))
    return start, start + ONE_DAY


def last_updated(model: Any) -> Any:
    return func.coalesce(model.updated_at, model.created_at)


async def page(
    session: AsyncSession, query: Any, order: Sequence[Any], limit: int, offset: int
) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if limit == 0:
        return [], total
    rows = await session.execute(query.order_by(*order).limit(limit).offset(offset))
    return list(rows), total


# --- participants (ResearchSubject, Patient) -----------------------------------------------------


def subject_query() -> Any:
    """A participant with what ResearchSubject needs, in one statement."""
    treated = exists().where(
        Dose.participant_id == Participant.id, Dose.status == "given", Dose.voided_at.is_(None)
    )
    ended = (
        select(func.min(Outcome.outcome_date))
        .where(
            Outcome.participant_id == Participant.id,
            Outcome.voided_at.is_(None),
            Outcome.type == func.coalesce(_status_outcome(Participant.status), "none"),
        )
        .scalar_subquery()
    )
    completed = (
        select(Visit.visit_date)
        .where(
            Visit.participant_id == Participant.id, Visit.visit_day == 84, Visit.voided_at.is_(None)
        )
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            Participant,
            Site.timezone,
            Randomization.arm,
            Randomization.day1,
            treated.label("treated"),
            func.coalesce(ended, completed).label("ended_on"),
        )
        .join(Site, Site.id == Participant.site_id)
        .outerjoin(Randomization, Randomization.participant_id == Participant.id)
    )


def _status_outcome(status: Any) -> Any:
    return case(OUTCOME_OF_STATUS, value=status, else_=None)


async def subjects(
    session: AsyncSession, where: Filter, limit: int, offset: int
) -> tuple[list[Any], int]:
    query = subject_query().where(*where.clauses())
    return await page(session, query, (Participant.created_at, Participant.id), limit, offset)


# --- visits, doses, adverse events ---------------------------------------------------------------


async def visits(
    session: AsyncSession, where: Filter, limit: int, offset: int
) -> tuple[list[Any], int]:
    query = (
        select(Visit)
        .join(Participant, Participant.id == Visit.participant_id)
        .where(*where.clauses())
    )
    order = (Visit.visit_date, Visit.visit_day, Visit.id)
    return await page(session, query, order, limit, offset)


async def doses(
    session: AsyncSession, where: Filter, limit: int, offset: int
) -> tuple[list[Any], int]:
    query = (
        select(Dose, Randomization.day1)
        .join(Participant, Participant.id == Dose.participant_id)
        .outerjoin(Randomization, Randomization.participant_id == Dose.participant_id)
        .where(*where.clauses())
    )
    order = (Dose.participant_id, Dose.dose_number, Dose.created_at, Dose.id)
    return await page(session, query, order, limit, offset)


def dose_effective() -> tuple[Any, Any]:
    """Given: the infusion's start; not given: its planned study day (a UTC day)."""
    offset = case({n: w.target_day - 1 for n, w in DOSE_WINDOWS.items()}, value=Dose.dose_number)
    planned, planned_end = day(Randomization.day1 + offset)
    return (
        func.coalesce(Dose.started_at, planned),
        func.coalesce(Dose.started_at + ONE_MICROSECOND, planned_end),
    )


async def adverse_events(
    session: AsyncSession,
    where: Filter,
    serious: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[Any], int]:
    """Live events (a voided one is gone: R4 AdverseEvent has no status to say so)."""
    query = (
        select(AdverseEvent, Randomization.arm)
        .join(Participant, Participant.id == AdverseEvent.participant_id)
        .outerjoin(Randomization, Randomization.participant_id == AdverseEvent.participant_id)
        .where(AdverseEvent.voided_at.is_(None), *where.clauses())
    )
    if serious is not None:
        query = query.where(AdverseEvent.serious == serious)
    order = (AdverseEvent.onset_date, AdverseEvent.created_at, AdverseEvent.id)
    return await page(session, query, order, limit, offset)


async def adverse_event(session: AsyncSession, ae_id: uuid.UUID) -> Any:
    return (
        await session.execute(
            select(AdverseEvent, Randomization.arm, Participant.site_id)
            .join(Participant, Participant.id == AdverseEvent.participant_id)
            .outerjoin(Randomization, Randomization.participant_id == AdverseEvent.participant_id)
            .where(AdverseEvent.id == ae_id)
        )
    ).first()
