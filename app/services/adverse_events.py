"""Adverse events: record, follow up / correct, report to the sponsor, list by clock.

The rules are the domain's (`app.domain.adverse_events`, the clocks
`app.domain.reporting_clocks`, the safety set `app.domain.safety_analysis`); this module
gathers what they need (arm, Day 1, death date, first dose date, today) and applies the
service-only checks: a dose link must be a given dose of this participant, dated on or before
the onset.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields, replace
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
from app.domain import reporting_clocks as clocks_rules
from app.domain import webhooks as webhook_rules
from app.domain.errors import InvalidData, NotFound, StateConflict
from app.domain.safety_analysis import Exposure, is_treatment_emergent
from app.schemas.safety import (
    AdverseEventIn,
    AdverseEventOut,
    AdverseEventPatch,
    SponsorReportIn,
)
from app.services.events import record_event
from app.services.participants import visible
from app.services.randomization import local_date
from app.services.versions import check_version

SPONSOR_REPORT_REASON = "sponsor report recorded"
AeFilter = repo.AeFilter  # the list filters, for the router
_INPUT_FIELDS = tuple(f.name for f in fields(rules.AdverseEventInput))


@dataclass(frozen=True, slots=True)
class Clocks:
    """An event's report standing at `now` (what the API shows beside each event)."""

    report_status: str
    expedited_report_status: str
    follow_up_report_status: str
    overdue: bool


def clocks(ae: AdverseEvent, now: datetime) -> Clocks:
    pairs = [
        (ae.report_due_at, ae.reported_at),
        (ae.expedited_due_at, ae.expedited_reported_at),
        (ae.follow_up_due_at, ae.follow_up_reported_at),
    ]
    sae, susar, follow_up = (clocks_rules.report_status(due, done, now) for due, done in pairs)
    overdue = any(clocks_rules.is_overdue(due, done, now) for due, done in pairs)
    return Clocks(sae.value, susar.value, follow_up.value, overdue)


def _domain_input(values: dict[str, Any]) -> rules.AdverseEventInput:
    kwargs: dict[str, Any] = {k: values.get(k) for k in _INPUT_FIELDS}
    kwargs["seriousness_criteria"] = tuple(values.get("seriousness_criteria") or ())
    return rules.AdverseEventInput(**kwargs)


def _stored_values(ae: AdverseEvent) -> dict[str, Any]:
    return {k: getattr(ae, k) for k in _INPUT_FIELDS}


def stored_input(ae: AdverseEvent) -> rules.AdverseEventInput:
    """A stored event as the domain rules see it."""
    return _domain_input(_stored_values(ae))


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
    """Copy the event's content and recompute its classification and deadlines."""
    for name in _INPUT_FIELDS:
        value = getattr(ae, name)
        setattr(target, name, list(value) if name == "seriousness_criteria" else value)
    target.susar = rules.is_susar(ae)
    _reschedule(target, ae)


def _reschedule(target: AdverseEvent, ae: rules.AdverseEventInput) -> None:
    anchors = clocks_rules.ClockAnchors(target.serious_aware_at, target.sponsor_aware_at)
    due = clocks_rules.deadlines(ae, anchors)
    target.report_due_at = due.report_due_at
    target.expedited_due_at = due.expedited_due_at
    target.follow_up_due_at = due.follow_up_due_at


async def record(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, data: AdverseEventIn
) -> tuple[AdverseEvent, Participant]:
    participant = await visible(session, principal, participant_id, lock=True)
    ae = _domain_input(data.model_dump())
    await _validate(session, participant, ae)
    event = AdverseEvent(
        participant_id=participant.id,
        created_by=principal.user_id,
        serious_aware_at=ae.aware_at if ae.serious else None,
    )
    _apply(event, ae)
    session.add(event)
    await session.flush()
    await _announce(session, event, was_serious=False, was_susar=False)
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
    changes = data.model_dump(
        exclude_unset=True, exclude={"reason", "serious_aware_at", "query_id"}
    )
    if not changes and data.serious_aware_at is None:
        raise InvalidData.one("body", "nothing to change")
    if "aware_at" in changes and changes["aware_at"] != event.aware_at:
        raise InvalidData.one(
            "aware_at",
            "is the site's first awareness and is never changed; an event that became serious"
            " later records serious_aware_at (void an event entered in error and record it again)",
        )
    ae = _domain_input({**_stored_values(event), **changes})
    await _validate(session, participant, ae)
    event.serious_aware_at = clocks_rules.serious_awareness(
        was_serious=event.serious,
        previous=event.serious_aware_at,
        now_serious=ae.serious,
        aware_at=event.aware_at,
        declared=data.serious_aware_at,
        now=clock.utc_now(),
    )
    await set_reason(session, data.reason)
    was_serious, was_susar = event.serious, event.susar
    _apply(event, ae)
    event.updated_at = clock.utc_now()
    await session.flush()
    await _announce(session, event, was_serious=was_serious, was_susar=was_susar)
    return event, participant


async def _announce(
    session: AsyncSession, event: AdverseEvent, *, was_serious: bool, was_susar: bool
) -> None:
    """`adverse_event.serious` / `.susar` when this change made the event so (SPEC §12)."""
    for event_type in webhook_rules.adverse_event_types(
        was_serious=was_serious, was_susar=was_susar, serious=event.serious, susar=event.susar
    ):
        await record_event(session, event_type, event.participant_id, _event_data(event))


def _event_data(event: AdverseEvent) -> dict[str, Any]:
    """Classification and clocks; the free-text description stays in the service."""
    return {
        "id": event.id,
        "onset_date": event.onset_date,
        "serious": event.serious,
        "susar": event.susar,
        "meddra_pt_code": event.meddra_pt_code,
        "ctcae_grade": event.ctcae_grade,
        "seriousness_criteria": list(event.seriousness_criteria or ()),
        "relatedness": event.relatedness,
        "expectedness": event.expectedness,
        "outcome": event.outcome,
        "aware_at": event.aware_at,
        "serious_aware_at": event.serious_aware_at,
        "report_due_at": event.report_due_at,
        "expedited_due_at": event.expedited_due_at,
    }


async def report_to_sponsor(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    ae_id: uuid.UUID,
    data: SponsorReportIn,
) -> tuple[AdverseEvent, Participant]:
    """Record when a report reached the sponsor: the SAE report, the SUSAR's expedited
    report, or a fatal/life-threatening SUSAR's follow-up. The first report also records
    `sponsor_aware_at`, from which the SUSAR clock then runs."""
    event, participant = await visible_event(session, principal, participant_id, ae_id, lock=True)
    _check_report(event, data)
    await set_reason(session, SPONSOR_REPORT_REASON)
    if data.follow_up:
        event.follow_up_reported_at = data.reported_at
    elif data.expedited:
        event.expedited_reported_at = data.reported_at
    if not data.follow_up and event.reported_at is None:
        event.reported_at = data.reported_at
    if event.sponsor_aware_at is None:
        event.sponsor_aware_at = data.sponsor_aware_at or data.reported_at
        _reschedule(event, stored_input(event))
    event.updated_at = clock.utc_now()
    await session.flush()
    return event, participant


def _check_report(event: AdverseEvent, data: SponsorReportIn) -> None:
    if event.voided_at is not None:
        raise StateConflict("A voided adverse event is not reported")
    if not event.serious:
        raise StateConflict("Only a serious adverse event is reported to the sponsor")
    if data.expedited and data.follow_up:
        raise InvalidData.one("follow_up", "a report is either expedited or the follow-up")
    if data.expedited and not event.susar:
        raise StateConflict("Only a SUSAR has an expedited report")
    if data.follow_up and event.follow_up_due_at is None:
        raise StateConflict("Only a fatal or life-threatening SUSAR has a follow-up report")
    for name, moment in (
        ("reported_at", data.reported_at),
        ("sponsor_aware_at", data.sponsor_aware_at),
    ):
        if moment is not None and moment < event.aware_at:
            raise InvalidData.one(name, "must not be before aware_at")
        if moment is not None and moment > clock.utc_now():
            raise InvalidData.one(name, "must not be in the future")
    done = {
        "follow_up": event.follow_up_reported_at,
        "expedited": event.expedited_reported_at,
        "sae": event.reported_at,
    }["follow_up" if data.follow_up else "expedited" if data.expedited else "sae"]
    if done is not None:
        raise StateConflict(f"This report is already recorded (at {done.isoformat()})")


# --- reading -----------------------------------------------------------------------------------


async def exposures(
    session: AsyncSession, participant_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Exposure]:
    """Arm, Day 1 and first dose date of each participant (treatment-emergence needs them)."""
    return {
        pid: Exposure(arm, day1, first_dose)
        for pid, arm, day1, first_dose in await repo.exposures(session, participant_ids)
    }


def event_out(event: AdverseEvent, study_id: str, exposure: Exposure) -> AdverseEventOut:
    standing = clocks(event, clock.utc_now())
    return AdverseEventOut(
        id=event.id,
        participant_id=event.participant_id,
        study_id=study_id,
        term=event.term,
        meddra_pt_code=event.meddra_pt_code,
        onset_date=event.onset_date,
        end_date=event.end_date,
        ctcae_grade=event.ctcae_grade,
        serious=event.serious,
        seriousness_criteria=list(event.seriousness_criteria),
        relatedness=event.relatedness,
        expectedness=event.expectedness,
        action_taken=event.action_taken,
        outcome=event.outcome,
        aware_at=event.aware_at,
        serious_aware_at=event.serious_aware_at,
        sponsor_aware_at=event.sponsor_aware_at,
        dose_id=event.dose_id,
        susar=event.susar,
        treatment_emergent=is_treatment_emergent(event.onset_date, exposure),
        report_due_at=event.report_due_at,
        expedited_due_at=event.expedited_due_at,
        follow_up_due_at=event.follow_up_due_at,
        reported_at=event.reported_at,
        expedited_reported_at=event.expedited_reported_at,
        follow_up_reported_at=event.follow_up_reported_at,
        report_status=standing.report_status,
        expedited_report_status=standing.expedited_report_status,
        follow_up_report_status=standing.follow_up_report_status,
        overdue=standing.overdue,
        version=event.version,
        created_at=event.created_at,
        updated_at=event.updated_at,
        voided_at=event.voided_at,
    )


async def shaped(
    session: AsyncSession, rows: list[tuple[AdverseEvent, str]]
) -> list[AdverseEventOut]:
    """Events as the API shows them, with their treatment-emergence (one query for all)."""
    known = await exposures(session, {event.participant_id for event, _ in rows})
    unknown = Exposure(None, None, None)
    return [event_out(e, study_id, known.get(e.participant_id, unknown)) for e, study_id in rows]


async def one_out(
    session: AsyncSession, event: AdverseEvent, participant: Participant
) -> AdverseEventOut:
    return (await shaped(session, [(event, participant.study_id)]))[0]


async def list_events(
    session: AsyncSession, filters: AeFilter, *, limit: int, offset: int
) -> tuple[list[AdverseEventOut], int]:
    rows, total = await repo.list_events(session, filters, limit=limit, offset=offset)
    return await shaped(session, rows), total


async def list_for_participant(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    filters: AeFilter,
    *,
    limit: int,
    offset: int,
) -> tuple[list[AdverseEventOut], int]:
    participant = await visible(session, principal, participant_id)
    scoped = replace(filters, participant_id=participant.id)
    return await list_events(session, scoped, limit=limit, offset=offset)
