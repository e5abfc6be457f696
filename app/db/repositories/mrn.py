"""Sites' MRN systems and participants by the keyed hash of their MRN."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Participant, Site


async def site(session: AsyncSession, site_id: uuid.UUID) -> Site | None:
    return await session.get(Site, site_id)


async def sites_with_mrn_system(session: AsyncSession, system: str | None) -> list[Site]:
    query = select(Site).where(Site.mrn_system.is_not(None))
    if system is not None:
        query = query.where(Site.mrn_system == system)
    return list(await session.scalars(query.order_by(Site.code)))


async def live_holder(session: AsyncSession, site_id: uuid.UUID, mac: bytes) -> Participant | None:
    """The participant of the site (not a screen failure) holding this MRN, if any."""
    return await session.scalar(
        select(Participant).where(
            Participant.site_id == site_id,
            Participant.mrn_hmac == mac,
            Participant.status != "screen_failed",
        )
    )


async def with_mrn(session: AsyncSession, site_id: uuid.UUID, mac: bytes) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Participant.id)
        .where(Participant.site_id == site_id, Participant.mrn_hmac == mac)
        .order_by(Participant.created_at)
    )
    return list(rows)
