"""Participants, screenings and consents."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Consent, Participant, Screening


async def get(session: AsyncSession, participant_id: uuid.UUID) -> Participant | None:
    return await session.get(Participant, participant_id)


async def get_for_update(session: AsyncSession, participant_id: uuid.UUID) -> Participant | None:
    """Row lock: state transitions of one participant happen one at a time."""
    return await session.scalar(
        select(Participant)
        .where(Participant.id == participant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def latest_screening(session: AsyncSession, participant_id: uuid.UUID) -> Screening | None:
    return await session.scalar(
        select(Screening)
        .where(Screening.participant_id == participant_id)
        .order_by(Screening.created_at.desc(), Screening.id.desc())
        .limit(1)
    )


async def screenings(session: AsyncSession, participant_id: uuid.UUID) -> list[Screening]:
    rows = await session.scalars(
        select(Screening)
        .where(Screening.participant_id == participant_id)
        .order_by(Screening.created_at)
    )
    return list(rows)


async def latest_consent(session: AsyncSession, participant_id: uuid.UUID) -> Consent | None:
    return await session.scalar(
        select(Consent)
        .where(Consent.participant_id == participant_id)
        .order_by(Consent.created_at.desc())
        .limit(1)
    )


async def list_screenings(
    session: AsyncSession,
    *,
    site_id: uuid.UUID | None,
    eligible: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Screening, Participant]], int]:
    query = select(Screening, Participant).join(
        Participant, Participant.id == Screening.participant_id
    )
    count = (
        select(func.count())
        .select_from(Screening)
        .join(Participant, Participant.id == Screening.participant_id)
    )
    if site_id is not None:
        query = query.where(Participant.site_id == site_id)
        count = count.where(Participant.site_id == site_id)
    if eligible is not None:
        query = query.where(Screening.eligible == eligible)
        count = count.where(Screening.eligible == eligible)
    total = await session.scalar(count) or 0
    rows = await session.execute(query.order_by(Screening.created_at).limit(limit).offset(offset))
    return [(s, p) for s, p in rows], total


PARTICIPANT_SUMMARY_SQL = text(
    """
    SELECT s.code AS site_code, s.mrn_system, c.consent_date, c.form_version,
           c.created_at AS consent_at, sc.eligible, r.arm, r.day1
    FROM participants p
    JOIN sites s ON s.id = p.site_id
    LEFT JOIN LATERAL (
        SELECT consent_date, form_version, created_at FROM consents
        WHERE participant_id = p.id ORDER BY created_at DESC LIMIT 1) c ON true
    LEFT JOIN LATERAL (
        SELECT eligible FROM screenings
        WHERE participant_id = p.id ORDER BY created_at DESC, id DESC LIMIT 1) sc ON true
    LEFT JOIN randomizations r ON r.participant_id = p.id
    WHERE p.id = :pid
    """
)


async def summary(session: AsyncSession, participant_id: uuid.UUID) -> Any:
    """Site code, latest consent, latest eligibility and the allocation, in one round trip."""
    return (await session.execute(PARTICIPANT_SUMMARY_SQL, {"pid": participant_id})).one()
