"""Source data verification marks, and the participant's records they can be put on."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Base, SdvMark


async def live_records(
    session: AsyncSession, participant_id: uuid.UUID, tables: Mapping[str, str]
) -> list[tuple[str, uuid.UUID, datetime]]:
    """(resource, id, created_at) of the participant's records that are not voided, for
    each resource → table of `tables`."""
    out: list[tuple[str, uuid.UUID, datetime]] = []
    for resource, name in tables.items():
        table = Base.metadata.tables[name]
        stmt = select(table.c.id, table.c.created_at).where(
            table.c.participant_id == participant_id
        )
        if "voided_at" in table.c:
            stmt = stmt.where(table.c.voided_at.is_(None))
        out += [(resource, row.id, row.created_at) for row in await session.execute(stmt)]
    return out


async def current_marks(session: AsyncSession, participant_id: uuid.UUID) -> list[SdvMark]:
    """The marks no change has cleared yet."""
    rows = await session.scalars(
        select(SdvMark).where(
            SdvMark.participant_id == participant_id, SdvMark.cleared_at.is_(None)
        )
    )
    return list(rows)


async def current_mark(session: AsyncSession, record_id: uuid.UUID) -> SdvMark | None:
    return await session.scalar(
        select(SdvMark).where(SdvMark.record_id == record_id, SdvMark.cleared_at.is_(None))
    )
