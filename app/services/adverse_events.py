"""Adverse events: record, follow up / correct, report to the sponsor, list by clock.

The rules are the domain's (`app.domain.adverse_events`); this module gathers what they need
(arm, Day 1, death date, first dose date, today) and applies the service-only checks: a dose
link must be a given dose of this participant, dated on or before the onset.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import AdverseEvent, Participant, Site
from app.db.repositories import outcomes as outcomes_repo
from app.db.repositories import randomization as randomization_repo
from app.db.repositories import safety as repo
from app.domain import adverse_events as rules
from app.domain.errors import InvalidData, NotFound, StateConflict
from app.schemas.safety import AdverseEventIn, AdverseEventPatch, SponsorReportIn
from app.services.participants import visible
from app.services.randomization import local_date
from app.services.versions import check_version

SPONSOR_REPORT_REASON = "sponsor report recorded"
_INPUT_FIELDS = tuple(f.name for f in fields(rules.AdverseEventInput))


@dataclass(frozen=True, slots=True)
class Clocks:
    """An event's report standing at `now` (what the API shows beside each event)."""

    report_status: str
    expedited_report_status: str
    overdue: bool


def clocks(ae: AdverseEvent, now: datetime) -> Clocks:
    sae = rules.report_status(ae.report_due_at, ae.reported_at, now)
    susar = rules.report_status(ae.expedited_due_at, ae.expedited_reported_at, now)
    overdue = rules.is_overdue(ae.report_due_at, ae.reported_at, now) or rules.is_overdue(
        ae.expedited_due_at, ae.expedited_reported_at, now
    )
    return Clocks(sae.value, susar.value, overdue)


def _domain_input(values: dict[str, Any]) -> rules.AdverseEventInput:
    kwargs: dict[str, Any] = {k: values.get(k) for k in _INPUT_FIELDS}
    kwargs["seriousness_criteria"] = tuple(values.get("seriousness_criteria") or ())
    return rules.AdverseEventInput(**kwargs)


def _stored_values(ae: AdverseEvent) -> dict[str, Any]:
    return {k: getattr(ae, k) for k in _INPUT_FIELDS}


async def _validate(
    session: AsyncSession, participant: Participant, ae: rules.AdverseEventInput
) -> None:
    """Domain rules (422, every broken rule), the dose link (422), then the death (409)."""
    allocation = await randomization_repo.for_participant(session, participant.id)
    death = await outcomes_repo.death_date(session, participant.id)
    site = await session.get(Site, participant.site_id)
    zone = site.timezone if site else "UTC"
    first_start = await repo.first_dose_start(session, participant.id)
    rules.validate_adverse_event(
        ae,
        arm=allocation.arm if allocation else None,
        day1=allocation.day1 if allocation else None,
        death_date=death,
        today=clock.latest_local_date(),
        participant_status=participant.status,
        first_dose_date=local_date(first_start, zone) if first_start else None,
    )
    await _check_dose_link(session, participant, ae, zone)
    rules.check_death_recorded(ae, death)


async def _check_dose_link(
    session: AsyncSession, participant: Participant, ae: rules.AdverseEventInput, zone: str
) -> None:
    if ae.dose_id is None:
        return
    dose = await repo.dose(session, ae.dose_id)
    if dose is None or dose.participant_id != participant.id or dose.voided_at is not None:
        raise InvalidData.one("dose_id", "is not a recorded dose of this participant")
    if dose.status != "given" or dose.started_at is None:
        raise InvalidData.one("dose_id", "the linked dose was not administered")
    if ae.onset_date < local_date(dose.started_at, zone):
        raise InvalidData.one("dose_id", "the linked dose was given after the event's onset")


def _apply(target: AdverseEvent, ae: rules.AdverseEventInput) -> None:
    for name in _INPUT_FIELDS:
        value = getattr(ae, name)
        setattr(target, name, list(value) if name == "seriousness_criteria" else value)
    if ae.serious and target.serious_aware_at is None:
        target.serious_aware_at = ae.aware_at
    target.susar = rules.is_susar(ae)
    target.report_due_at = rules.report_due_at(ae)
    target.expedited_due_at = rules.expedited_due_at(ae)


async def record(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, data: AdverseEventIn
) -> tuple[AdverseEvent, Participant]:
    participant = await visible(session, principal, participant_id, lock=True)
    ae = _domain_input(data.model_dump())
    await _validate(session, participant, ae)
    event = AdverseEvent(participant_id=participant.id, created_by=principal.user_id)
    _apply(event, ae)
    session.add(event)
    await session.flush()
    return event, participant


async def visible_event(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    ae_id: uuid.UUID,
    *,
    lock: bool = False,
) -> tuple[AdverseEvent, Participant]:
    participant = await visible(session, principal, participant_id, lock=lock)
    event = await (repo.get_for_update if lock else repo.get)(session, ae_id)
    if event is None or event.participant_id != participant.id:
        raise NotFound("No such adverse event")
    return event, participant


async def follow_up(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    ae_id: uuid.UUID,
    data: AdverseEventPatch,
    expected_version: int,
) -> tuple[AdverseEvent, Participant]:
    """Change the sent fields, re-validate the whole event, recompute its clocks."""
    event, participant = await visible_event(session, principal, participant_id, ae_id, lock=True)
    check_version(expected_version, event.version)
    if event.voided_at is not None:
        raise StateConflict("A voided adverse event cannot be changed")
    changes = data.model_dump(exclude_unset=True, exclude={"reason"})
    if not changes:
        raise InvalidData.one("body", "nothing to change")
    ae = _domain_input({**_stored_values(event), **changes})
    await _validate(session, participant, ae)
    await set_reason(session, data.reason)
    _apply(event, ae)
    event.updated_at = clock.utc_now()
    await session.flush()
    return event, participant


async def report_to_sponsor(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    ae_id: uuid.UUID,
    data: SponsorReportIn,
) -> tuple[AdverseEvent, Participant]:
    """Record when the SAE report (or the SUSAR's expedited report) reached the sponsor."""
    event, participant = await visible_event(session, principal, participant_id, ae_id, lock=True)
    if event.voided_at is not None:
        raise StateConflict("A voided adverse event is not reported")
    if not event.serious:
        raise StateConflict("Only a serious adverse event is reported to the sponsor")
    if data.expedited and not event.susar:
        raise StateConflict("Only a SUSAR has an expedited report")
    if data.reported_at < event.aware_at:
        raise InvalidData.one("reported_at", "must not be before aware_at")
    if data.reported_at > clock.utc_now():
        raise InvalidData.one("reported_at", "must not be in the future")
    already = event.expedited_reported_at if data.expedited else event.reported_at
    if already is not None:
        raise StateConflict(f"This report is already recorded (at {already.isoformat()})")
    await set_reason(session, SPONSOR_REPORT_REASON)
    if data.expedited:
        event.expedited_reported_at = data.reported_at
    if event.reported_at is None:
        event.reported_at = data.reported_at
    event.updated_at = clock.utc_now()
    await session.flush()
    return event, participant
