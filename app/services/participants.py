"""Participants: enrolment at a site, screening with eligibility, consent, corrections."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import Consent, Participant
from app.db.repositories import participants as repo
from app.domain.errors import InvalidData, NotFound, StateConflict
from app.schemas.participants import ConsentIn, ParticipantPatch
from app.services import mrn
from app.services.versions import check_version

CONSENTABLE = frozenset({"screening", "eligible", "randomized"})


async def visible(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, *, lock: bool = False
) -> Participant:
    """Another site's participant is indistinguishable from a missing one (404)."""
    load = repo.get_for_update if lock else repo.get
    participant = await load(session, participant_id)
    if participant is None or not principal.can_see_site(participant.site_id):
        raise NotFound("No such participant")
    return participant


async def correct(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    data: ParticipantPatch,
    expected_version: int,
) -> Participant:
    participant = await visible(session, principal, participant_id, lock=True)
    check_version(expected_version, participant.version)
    changes = data.model_dump(exclude_unset=True, exclude={"reason"})
    if not changes:
        raise InvalidData.one("body", "nothing to change")
    if "date_of_birth" in changes and participant.status != "screening":
        raise StateConflict(
            "date_of_birth decided eligibility; after screening, correct it by re-screening"
            " a new participant record or contact the data manager"
        )
    if "mrn" in changes:
        changes.update(
            await mrn.columns(
                session, participant.site_id, changes.pop("mrn"), participant_id=participant.id
            )
        )
    await set_reason(session, data.reason)
    for name, value in changes.items():
        setattr(participant, name, value)
    participant.updated_at = clock.utc_now()
    await session.flush()
    return participant


async def consent(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, data: ConsentIn
) -> Consent:
    participant = await visible(session, principal, participant_id, lock=True)
    if participant.status not in CONSENTABLE:
        raise StateConflict(f"Consent cannot be recorded in status '{participant.status}'")
    if data.consent_date > clock.latest_local_date():
        raise InvalidData.one("consent_date", "must not be in the future")
    if data.consent_date < participant.date_of_birth:
        raise InvalidData.one("consent_date", "is before the date of birth")
    record = Consent(
        participant_id=participant.id,
        consent_date=data.consent_date,
        form_version=data.form_version,
        created_by=principal.user_id,
    )
    session.add(record)
    await session.flush()
    return record


def today() -> date:
    return clock.utc_now().date()
