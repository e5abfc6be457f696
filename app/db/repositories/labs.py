"""Laboratory results and standard medical treatment."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import LabResult, Treatment, Visit

T = TypeVar("T")


async def _page(
    session: AsyncSession, query: Select[T], order: Iterable[Any], limit: int, offset: int
) -> tuple[list[T], int]:
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(*order).limit(limit).offset(offset))
    return list(rows), total


# --- lab results ---------------------------------------------------------------------------------


async def lab_result(
    session: AsyncSession, participant_id: uuid.UUID, result_id: uuid.UUID, *, lock: bool = False
) -> LabResult | None:
    query = select(LabResult).where(
        LabResult.id == result_id, LabResult.participant_id == participant_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def live_direct_result(
    session: AsyncSession, participant_id: uuid.UUID, analyte: str, collected_at: datetime
) -> LabResult | None:
    """The non-voided api/fhir result of this analyte and collection time, if any."""
    return await session.scalar(
        select(LabResult).where(
            LabResult.participant_id == participant_id,
            LabResult.analyte == analyte,
            LabResult.collected_at == collected_at,
            LabResult.source.in_(("api", "fhir")),
            LabResult.voided_at.is_(None),
        )
    )


async def list_lab_results(
    session: AsyncSession,
    participant_id: uuid.UUID,
    *,
    analyte: str | None,
    source: str | None,
    collected_from: datetime | None,
    collected_to: datetime | None,
    include_voided: bool,
    limit: int,
    offset: int,
) -> tuple[list[LabResult], int]:
    query = select(LabResult).where(LabResult.participant_id == participant_id)
    if analyte is not None:
        query = query.where(LabResult.analyte == analyte)
    if source is not None:
        query = query.where(LabResult.source == source)
    if collected_from is not None:
        query = query.where(LabResult.collected_at >= collected_from)
    if collected_to is not None:
        query = query.where(LabResult.collected_at <= collected_to)
    if not include_voided:
        query = query.where(LabResult.voided_at.is_(None))
    order = (LabResult.collected_at, LabResult.analyte, LabResult.created_at, LabResult.id)
    return await _page(session, query, order, limit, offset)


async def live_results_between(
    session: AsyncSession,
    participant_id: uuid.UUID,
    analytes: Iterable[str],
    start: datetime,
    end: datetime,
) -> list[LabResult]:
    """Non-voided results of these analytes collected in [start, end)."""
    rows = await session.scalars(
        select(LabResult).where(
            LabResult.participant_id == participant_id,
            LabResult.analyte.in_(list(analytes)),
            LabResult.collected_at >= start,
            LabResult.collected_at < end,
            LabResult.voided_at.is_(None),
        )
    )
    return list(rows)


async def live_results_of_visit(session: AsyncSession, visit_id: uuid.UUID) -> list[LabResult]:
    rows = await session.scalars(
        select(LabResult)
        .where(LabResult.visit_id == visit_id, LabResult.voided_at.is_(None))
        .with_for_update()
    )
    return list(rows)


USES_RESULT = text(
    "jsonb_path_exists(visits.labs, '$.*.lab_result_id ? (@ == $id)', CAST(:vars AS jsonb))"
)


async def live_visits_using(
    session: AsyncSession, participant_id: uuid.UUID, result_id: uuid.UUID
) -> list[Visit]:
    """Live visits whose stored labs were taken from this result."""
    rows = await session.scalars(
        select(Visit)
        .where(Visit.participant_id == participant_id, Visit.voided_at.is_(None))
        .where(USES_RESULT.bindparams(vars=f'{{"id": "{result_id}"}}'))
    )
    return list(rows)


# --- treatments ----------------------------------------------------------------------------------


async def treatment(
    session: AsyncSession, participant_id: uuid.UUID, treatment_id: uuid.UUID, *, lock: bool = False
) -> Treatment | None:
    query = select(Treatment).where(
        Treatment.id == treatment_id, Treatment.participant_id == participant_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def list_treatments(
    session: AsyncSession,
    participant_id: uuid.UUID,
    *,
    category: str | None,
    include_voided: bool,
    limit: int,
    offset: int,
) -> tuple[list[Treatment], int]:
    query = select(Treatment).where(Treatment.participant_id == participant_id)
    if category is not None:
        query = query.where(Treatment.category == category)
    if not include_voided:
        query = query.where(Treatment.voided_at.is_(None))
    order = (Treatment.start_date, Treatment.created_at, Treatment.id)
    return await _page(session, query, order, limit, offset)
