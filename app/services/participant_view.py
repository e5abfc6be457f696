"""Shapes participant records for the API (one place, used by several routers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Participant, Screening
from app.db.repositories import participants as repo
from app.schemas.participants import ConsentOut, ParticipantOut, ScreeningOut


async def participant_out(
    session: AsyncSession,
    participant: Participant,
    *,
    site_code: str | None = None,
    brief: bool = False,
) -> ParticipantOut:
    """`brief`: the record alone (lists, a new participant); else with consent, eligibility
    and allocation, fetched in one query."""
    extra: Any = None
    if not brief or site_code is None:
        extra = await repo.summary(session, participant.id)
        site_code = site_code or str(extra.site_code)
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
    if brief or extra is None:
        return out
    if extra.consent_date is not None:
        out.consent = ConsentOut(
            consent_date=extra.consent_date,
            form_version=extra.form_version,
            recorded_at=extra.consent_at,
        )
    out.eligible = extra.eligible
    out.arm = extra.arm
    out.day1 = extra.day1
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
