"""The study lock and casebook locks (the rows the lock triggers of migration 0013 read)."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CasebookLock, StudyLock

# The advisory keys the lock trigger holds shared (migration 0013, datamgmt_guard_write).
STUDY_KEY = 724501
CASEBOOK_KEY = 724502


async def hold_study_key(session: AsyncSession) -> None:
    """Until the transaction ends: wait for the clinical writes in flight, hold off new ones."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k, 0)"), {"k": STUDY_KEY})


async def hold_casebook_key(session: AsyncSession, participant_id: uuid.UUID) -> None:
    """The same for one participant's casebook (a lock or a signature being made)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:k, hashtext(:p))"),
        {"k": CASEBOOK_KEY, "p": str(participant_id)},
    )


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
