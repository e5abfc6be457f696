"""Data queries, their messages, and the records they point at."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import DataQuery, Participant, QueryMessage


async def get(
    session: AsyncSession, query_id: uuid.UUID, *, for_update: bool = False
) -> tuple[DataQuery, uuid.UUID] | None:
    """The query and its participant's site."""
    stmt = (
        select(DataQuery, Participant.site_id)
        .join(Participant, Participant.id == DataQuery.participant_id)
        .where(DataQuery.id == query_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=DataQuery)
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def messages(session: AsyncSession, query_id: uuid.UUID) -> list[QueryMessage]:
    rows = await session.scalars(
        select(QueryMessage)
        .where(QueryMessage.query_id == query_id)
        .order_by(QueryMessage.created_at, QueryMessage.id)
    )
    return list(rows)


async def page(
    session: AsyncSession,
    *,
    site_id: uuid.UUID | None,
    status: str | None,
    participant_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[DataQuery], int]:
    stmt = select(DataQuery).join(Participant, Participant.id == DataQuery.participant_id)
    if site_id is not None:
        stmt = stmt.where(Participant.site_id == site_id)
    if status is not None:
        stmt = stmt.where(DataQuery.status == status)
    if participant_id is not None:
        stmt = stmt.where(DataQuery.participant_id == participant_id)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.scalars(
        stmt.order_by(DataQuery.created_at.desc(), DataQuery.id).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


async def record_belongs_to(
    session: AsyncSession, table: str, record_id: uuid.UUID, participant_id: uuid.UUID
) -> bool:
    """Whether `record_id` is a row of `table` (a name from the domain's fixed map) of the
    participant."""
    found = await session.scalar(
        text(f"SELECT 1 FROM {table} WHERE id = :r AND participant_id = :p"),  # noqa: S608
        {"r": record_id, "p": participant_id},
    )
    return found is not None
