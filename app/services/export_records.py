"""The service's records as the CDISC mappers read them (app.interop.cdisc.records).

Voided records are left out (the repository does that); corrected records are read at their
current values. Each participant's records are attached to it in the orders the mappers
expect (screenings as recorded, doses by number).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import models
from app.db.repositories import exports as repo
from app.interop.cdisc import records as r


def _by_participant(rows: Iterable[Any]) -> dict[uuid.UUID, list[Any]]:
    found: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        found[row.participant_id].append(row)
    return found


async def study(session: AsyncSession, exported_at: datetime, audit_head_id: int) -> r.Study:
    sites = await repo.sites(session)
    zones = {s.id: s.timezone for s in sites}
    codes = {s.id: s.code for s in sites}
    screenings = _by_participant(await repo.screenings(session))
    consents = _by_participant(await repo.consents(session))
    allocations = {a.participant_id: a for a in await repo.randomizations(session)}
    all_doses = await repo.doses(session)
    doses = _by_participant(d for d in all_doses if d.status == "given")
    visits = _by_participant(await repo.visits(session))
    visit_days = {v.id: v.visit_day for vs in visits.values() for v in vs}
    labs = _by_participant(await repo.lab_results(session))
    aes = _by_participant(await repo.adverse_events(session))
    treatments = _by_participant(await repo.treatments(session))
    outcomes = _by_participant(await repo.outcomes(session))
    deviations = _by_participant(await repo.deviations(session))
    dose_by_id = {d.id: d for d in all_doses}
    visit_by_id = {v.id: v for vs in visits.values() for v in vs}
    participants = []
    for p in await repo.participants(session):
        zone = zones.get(p.site_id, "UTC")
        participants.append(
            r.Participant(
                id=p.id,
                study_id=p.study_id,
                site_code=codes.get(p.site_id, ""),
                timezone=zone,
                date_of_birth=p.date_of_birth,
                sex=p.sex,
                status=p.status,
                screenings=tuple(_screening(s) for s in screenings[p.id]),
                consents=tuple(
                    r.Consent(c.id, c.consent_date, c.form_version) for c in consents[p.id]
                ),
                allocation=_allocation(allocations.get(p.id)),
                doses=tuple(_dose(d) for d in doses[p.id]),
                visits=tuple(_visit(v) for v in visits[p.id]),
                lab_results=tuple(_lab(x, visit_days) for x in labs[p.id]),
                adverse_events=tuple(_adverse_event(a) for a in aes[p.id]),
                treatments=tuple(_treatment(t) for t in treatments[p.id]),
                outcomes=tuple(r.Outcome(o.id, o.type, o.outcome_date) for o in outcomes[p.id]),
                deviations=tuple(
                    d
                    for d in (
                        _deviation(x, dose_by_id, visit_by_id, zone) for x in deviations[p.id]
                    )
                    if d is not None
                ),
            )
        )
    first_consent = min((c.consent_date for cs in consents.values() for c in cs), default=None)
    return r.Study(
        participants=tuple(participants),
        exported_at=exported_at,
        first_consent=first_consent,
        data_as_of=f"audit trail up to audit_log id {audit_head_id}",
        sites={s.code: s.name for s in sites},
    )


def _screening(s: models.Screening) -> r.Screening:
    return r.Screening(
        id=s.id,
        assessment_date=s.assessment_date,
        created_at=s.created_at,
        eligible=s.eligible,
        reasons=tuple(str(x) for x in s.reasons or ()),
        he_grade=s.he_grade,
        ascites=s.ascites,
        symptoms=s.symptoms,
        labs=s.labs or {},
        scores=s.scores or {},
    )


def _allocation(a: models.Randomization | None) -> r.Allocation | None:
    return None if a is None else r.Allocation(a.arm, a.day1, a.randomized_at, a.sequence_number)


def _dose(d: models.Dose) -> r.Dose:
    assert d.started_at is not None  # a given dose has its infusion times
    assert d.ended_at is not None
    return r.Dose(
        d.id,
        d.dose_number,
        d.started_at,
        d.ended_at,
        d.particles or 0,
        d.volume_ml or Decimal(0),
        d.lot_number,
    )


def _visit(v: models.Visit) -> r.Visit:
    return r.Visit(
        v.id, v.visit_day, v.visit_date, v.vital_status, v.he_grade, v.ascites, v.symptoms,
        v.labs or {}, v.scores or {},
    )  # fmt: skip


def _lab(x: models.LabResult, visit_days: dict[uuid.UUID, int]) -> r.LabResult:
    return r.LabResult(
        id=x.id,
        analyte=x.analyte,
        value=x.value,
        unit=x.unit,
        canonical_value=x.canonical_value,
        canonical_unit=x.canonical_unit,
        loinc=x.loinc,
        collected_at=x.collected_at,
        reference_range_high=x.reference_range_high,
        reference_range_high_canonical=x.reference_range_high_canonical,
        source=x.source,
        visit_day=visit_days.get(x.visit_id) if x.visit_id else None,
    )


def _adverse_event(a: models.AdverseEvent) -> r.AdverseEvent:
    return r.AdverseEvent(
        id=a.id,
        term=a.term,
        meddra_pt_code=a.meddra_pt_code,
        onset_date=a.onset_date,
        end_date=a.end_date,
        ctcae_grade=a.ctcae_grade,
        serious=a.serious,
        seriousness_criteria=tuple(str(c) for c in a.seriousness_criteria or ()),
        relatedness=a.relatedness,
        expectedness=a.expectedness,
        action_taken=a.action_taken,
        outcome=a.outcome,
        susar=a.susar,
    )


def _treatment(t: models.Treatment) -> r.Treatment:
    return r.Treatment(
        t.id, t.category, t.name, t.start_date, t.end_date, t.dose, t.route, t.atc_code
    )


def _deviation(
    d: models.ProtocolDeviation,
    doses: dict[uuid.UUID, models.Dose],
    visits: dict[uuid.UUID, models.Visit],
    zone: str,
) -> r.Deviation | None:
    """The deviation dated by its record; none when that record is voided (not exported)."""
    if d.record_table == "doses":
        dose = doses.get(d.record_id)
        when = dose.started_at if dose is not None else None
        if when is None:
            return None
        on = when.astimezone(ZoneInfo(zone)).date()
    else:
        visit = visits.get(d.record_id)
        if visit is None:
            return None
        on = visit.visit_date
    return r.Deviation(d.id, d.kind, d.rule, d.detail, d.reason, d.record_table, on)
