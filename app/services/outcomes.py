"""Outcomes: each recorded event moves the participant to its terminal status (SPEC §2.2).

Which outcome may follow which status is the domain's (`app.domain.outcomes`): a death may
always be recorded for a randomized participant who has not died (from `completed` too);
nothing else follows a terminal status.

Dates (422, field `date`): not before Day 1, not in the future (a date that has begun nowhere
yet). A death, and a loss to follow-up (its date is the date of last contact), not before any
sign of life: a visit with vital status alive, a dose given, an adverse event's onset or end,
an earlier outcome's date. A death also not after a visit that found the participant dead.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.models import Outcome, Participant, Randomization, Site
from app.db.repositories import outcomes as repo
from app.db.repositories import randomization as randomization_repo
from app.domain import webhooks
from app.domain.deviations import STATUS_AFTER_OUTCOME
from app.domain.errors import FieldError, InvalidData
from app.domain.outcomes import DATED_BY_LAST_SIGN_OF_LIFE, DEATH, check_transition
from app.domain.study_days import study_day
from app.schemas.outcomes import OutcomeIn, OutcomeOut
from app.services.events import record_event
from app.services.participants import visible
from app.services.randomization import local_date


async def record(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, data: OutcomeIn
) -> tuple[Outcome, Participant, Randomization]:
    participant = await visible(session, principal, participant_id, lock=True)
    allocation = await randomization_repo.for_participant(session, participant.id)
    check_transition(participant.status, data.type)
    assert allocation is not None  # every status that passes the transition is randomized
    errors = list(_date_errors(data.date, allocation.day1))
    if data.type in DATED_BY_LAST_SIGN_OF_LIFE:
        errors += [e async for e in _alive_after(session, participant, data.type, data.date)]
    if errors:
        raise InvalidData(errors)
    outcome = Outcome(
        participant_id=participant.id,
        type=data.type,
        outcome_date=data.date,
        notes=data.notes,
        created_by=principal.user_id,
    )
    session.add(outcome)
    participant.status = STATUS_AFTER_OUTCOME[data.type]
    participant.updated_at = clock.utc_now()
    await session.flush()
    await record_event(
        session,
        webhooks.OUTCOME_RECORDED,
        participant.id,
        {"id": outcome.id, "type": outcome.type, "date": outcome.outcome_date},
    )
    return outcome, participant, allocation


def _date_errors(when: date, day1: date) -> Iterator[FieldError]:
    if when < day1:
        yield FieldError("date", f"must not be before Day 1 ({day1.isoformat()})")
    if when > clock.latest_local_date():
        yield FieldError("date", "must not be in the future")


async def _alive_after(
    session: AsyncSession, participant: Participant, kind: str, when: date
) -> AsyncIterator[FieldError]:
    """Every record proving the participant alive (in contact) after the proposed date."""
    site = await session.get(Site, participant.site_id)
    zone = site.timezone if site else "UTC"
    evidence: list[tuple[str, date | None]] = [
        (
            "a visit with vital status 'alive'",
            await repo.latest_alive_visit(session, participant.id),
        ),
        ("an adverse event", await repo.latest_adverse_event_date(session, participant.id)),
    ]
    dose_start = await repo.latest_dose_start(session, participant.id)
    evidence.append(("a dose given", local_date(dose_start, zone) if dose_start else None))
    for earlier in await repo.for_participant(session, participant.id):
        evidence.append((f"the {earlier.type} outcome", earlier.outcome_date))
    for what, seen in evidence:
        if seen is not None and seen > when:
            yield FieldError("date", f"is before {what} recorded on {seen.isoformat()}")
    dead_at_visit = await repo.earliest_dead_visit(session, participant.id)
    if kind == DEATH and dead_at_visit is not None and when > dead_at_visit:
        yield FieldError(
            "date",
            f"is after a visit on {dead_at_visit.isoformat()} that recorded vital status dead",
        )


async def list_for(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID
) -> tuple[list[Outcome], Participant, Randomization | None]:
    participant = await visible(session, principal, participant_id)
    allocation = await randomization_repo.for_participant(session, participant.id)
    return await repo.for_participant(session, participant.id), participant, allocation


def outcome_out(outcome: Outcome, participant: Participant, day1: date) -> OutcomeOut:
    """The outcome as the API shows it (`status`: the participant's status now)."""
    return OutcomeOut(
        id=outcome.id,
        type=outcome.type,
        date=outcome.outcome_date,
        status=participant.status,
        participant_id=participant.id,
        study_day=study_day(day1, outcome.outcome_date),
        notes=outcome.notes,
        created_at=outcome.created_at,
    )
