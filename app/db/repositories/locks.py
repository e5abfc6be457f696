"""The study lock and casebook locks (the rows the lock triggers of migration 0013 read)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CasebookLock, StudyLock


async def study_lock(session: AsyncSession, *, for_update: bool = False) -> StudyLock:
    """The one row of `study_lock` (inserted by the migration)."""
    query = select(StudyLock).where(StudyLock.id == 1)
    row = await session.scalar(query.with_for_update() if for_update else query)
    assert row is not None, "migration 0013 inserts the study_lock row"
    return row


async def casebook_lock(
    session: AsyncSession, participant_id: uuid.UUID, *, for_update: bool = False
) -> CasebookLock | None:
    query = select(CasebookLock).where(CasebookLock.participant_id == participant_id)
    return await session.scalar(query.with_for_update() if for_update else query)
