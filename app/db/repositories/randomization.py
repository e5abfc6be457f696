"""Allocation lists, slots and allocations."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AllocationList, AllocationSlot, Randomization


async def active_list_for_update(session: AsyncSession) -> AllocationList | None:
    """The list row lock serializes allocation across every worker and replica."""
    return await session.scalar(
        select(AllocationList)
        .where(AllocationList.active)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def active_list(session: AsyncSession) -> AllocationList | None:
    return await session.scalar(select(AllocationList).where(AllocationList.active))


async def get_list(session: AsyncSession, list_id: uuid.UUID) -> AllocationList | None:
    return await session.get(AllocationList, list_id)


async def all_lists(session: AsyncSession) -> list[AllocationList]:
    return list(await session.scalars(select(AllocationList).order_by(AllocationList.created_at)))


async def used_count(session: AsyncSession, list_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Randomization).where(Randomization.list_id == list_id)
        )
        or 0
    )


async def slot_at(
    session: AsyncSession, list_id: uuid.UUID, sequence: int
) -> AllocationSlot | None:
    return await session.scalar(
        select(AllocationSlot).where(
            AllocationSlot.list_id == list_id, AllocationSlot.sequence_number == sequence
        )
    )


async def slots_with_use(
    session: AsyncSession, list_id: uuid.UUID
) -> list[tuple[AllocationSlot, uuid.UUID | None]]:
    rows = await session.execute(
        select(AllocationSlot, Randomization.participant_id)
        .outerjoin(Randomization, Randomization.slot_id == AllocationSlot.id)
        .where(AllocationSlot.list_id == list_id)
        .order_by(AllocationSlot.sequence_number)
    )
    return [(slot, pid) for slot, pid in rows]


async def for_participant(session: AsyncSession, participant_id: uuid.UUID) -> Randomization | None:
    return await session.scalar(
        select(Randomization).where(Randomization.participant_id == participant_id)
    )
