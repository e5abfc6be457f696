"""Electronic signatures and the participant's casebook as the rows it signs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Base, Signature


async def valid_for(session: AsyncSession, participant_id: uuid.UUID) -> Signature | None:
    """The newest signature of the participant that no change has invalidated."""
    return await session.scalar(
        select(Signature)
        .where(Signature.participant_id == participant_id, Signature.invalidated_at.is_(None))
        .order_by(Signature.signed_at.desc())
        .limit(1)
    )


async def for_participant(session: AsyncSession, participant_id: uuid.UUID) -> list[Signature]:
    rows = await session.scalars(
        select(Signature)
        .where(Signature.participant_id == participant_id)
        .order_by(Signature.signed_at)
    )
    return list(rows)


async def casebook_rows(
    session: AsyncSession, participant_id: uuid.UUID, tables: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Every row of the participant in each of `tables` (voided ones too), as column maps."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in tables:
        table = Base.metadata.tables[name]
        owner = table.c.id if name == "participants" else table.c.participant_id
        result = await session.execute(select(table).where(owner == participant_id))
        out[name] = [dict(row) for row in result.mappings()]
    return out
