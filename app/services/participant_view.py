"""Shapes participant records for the API (one place, used by several routers)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Participant, Screening, Site
from app.db.repositories import participants as repo
from app.db.repositories import randomization as randomization_repo
from app.schemas.participants import ConsentOut, ParticipantOut, ScreeningOut


async def participant_out(
    session: AsyncSession,
    participant: Participant,
    *,
    site_code: str | None = None,
    brief: bool = False,
) -> ParticipantOut:
    if site_code is None:
        site = await session.get(Site, participant.site_id)
        site_code = site.code if site else ""
    out = ParticipantOut(
        id=participant.id,
        study_id=participant.study_id,
        site_code=site_code,
        date_of_birth=participant.date_of_birth,
        sex=participant.sex,
        status=participant.status,
        created_at=participant.created_at,
        version=participant.version,
    )
    if brief:
        return out
    consent = await repo.latest_consent(session, participant.id)
    if consent is not None:
        out.consent = ConsentOut(
            consent_date=consent.consent_date,
            form_version=consent.form_version,
            recorded_at=consent.created_at,
        )
    screening = await repo.latest_screening(session, participant.id)
    out.eligible = screening.eligible if screening else None
    allocation = await randomization_repo.for_participant(session, participant.id)
    if allocation is not None:
        out.arm = allocation.arm
        out.day1 = allocation.day1
    return out


def screening_out(screening: Screening, participant: Participant) -> ScreeningOut:
    return ScreeningOut(
        id=screening.id,
        participant_id=participant.id,
        assessment_date=screening.assessment_date,
        eligible=screening.eligible,
        reasons=screening.reasons,
        scores=screening.scores,
        status=participant.status,
        age_years=screening.age_years,
        labs=screening.labs,
    )
