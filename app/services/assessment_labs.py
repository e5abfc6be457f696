"""The labs of a screening or visit, and the lab results they are (SPEC §7).

Typed in with the screening or visit, each value becomes a lab result (source `screening` or
`visit`, collected at that date 00:00 site time) owned by that record. Sent without `labs`,
the record takes, for each analyte the scores need, the latest non-voided result collected on
its date (site-local). Either way the stored `labs` name the lab result each value came from
(`lab_result_id`) and how (`origin`: `entered` or `lab_result`).

Correcting a visit's labs or date voids its own results and enters them again; voiding the
visit voids them. A visit whose labs were taken from results takes them again for a new date.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.models import LabResult, Visit
from app.db.repositories import labs as repo
from app.domain.analytes import ANALYTES
from app.domain.errors import InvalidData
from app.domain.lab_results import (
    SCREENING_ANALYTES,
    VISIT_ANALYTES,
    ResultView,
    assessment_collected_at,
    latest_of_day,
    missing_for_screening,
)
from app.domain.units import CanonicalLab, Quantity, canonicalize_labs
from app.interop.ucum import UCUM
from app.schemas.common import QuantityIn
from app.schemas.treatment import VisitPatch
from app.services.scoring import labs_json, to_quantities

if TYPE_CHECKING:
    from app.services.deviations import TreatmentContext

ENTERED = "entered"
FROM_RESULT = "lab_result"


@dataclass
class AssessmentLabs:
    """Canonical labs for the scores, their stored form, and the results still to insert."""

    labs: dict[str, CanonicalLab]
    stored: dict[str, Any]
    new_results: list[LabResult] = field(default_factory=list)
    uln_umol_l: Decimal | None = None  # the day's total bilirubin ULN (labs from results)


def result_columns(lab: CanonicalLab) -> dict[str, Any]:
    """The columns of a result from one canonical lab (shared with screenings and visits)."""
    return {
        "analyte": lab.key,
        "value": lab.entered.value,
        "unit": lab.entered.unit,
        "canonical_value": lab.value,
        "canonical_unit": lab.unit,
        "loinc": ANALYTES[lab.key].loinc,
    }


def typed(
    quantities: Mapping[str, Quantity],
    *,
    participant_id: uuid.UUID,
    principal: Principal,
    day: date,
    zone: ZoneInfo,
    source: str,
) -> AssessmentLabs:
    """Labs typed with the record: canonical values (422 naming `labs.<key>`) and new results."""
    labs = canonicalize_labs(quantities, UCUM)
    collected_at = assessment_collected_at(day, zone)
    results = {
        key: LabResult(
            id=uuid.uuid4(),
            participant_id=participant_id,
            source=source,
            collected_at=collected_at,
            created_by=principal.user_id,
            **result_columns(lab),
        )
        for key, lab in labs.items()
        if lab.derived_from is None
    }
    stored = _stored(labs, {k: r.id for k, r in results.items()}, ENTERED)
    return AssessmentLabs(labs, stored, list(results.values()))


async def of_the_day(
    session: AsyncSession,
    participant_id: uuid.UUID,
    day: date,
    zone: ZoneInfo,
    analytes: Iterable[str],
) -> AssessmentLabs:
    """The latest non-voided result of each analyte collected on `day` (site-local)."""
    wanted = tuple(analytes)
    start = assessment_collected_at(day, zone)
    end = assessment_collected_at(day + timedelta(days=1), zone)
    rows = await repo.live_results_between(session, participant_id, wanted, start, end)
    views = [ResultView(r.id, r.analyte, r.collected_at, r.created_at) for r in rows]
    by_id = {r.id: r for r in rows}
    chosen = {key: by_id[v.id] for key, v in latest_of_day(views, day, zone, wanted).items()}
    labs = canonicalize_labs({k: Quantity(r.value, r.unit) for k, r in chosen.items()}, UCUM)
    stored = _stored(labs, {k: r.id for k, r in chosen.items()}, FROM_RESULT)
    tbil = chosen.get("total_bilirubin")
    return AssessmentLabs(
        labs, stored, uln_umol_l=tbil.reference_range_high_canonical if tbil else None
    )


def _stored(
    labs: Mapping[str, CanonicalLab], ids: Mapping[str, uuid.UUID], origin: str
) -> dict[str, Any]:
    stored = labs_json(labs)
    for key, entry in stored.items():
        entry["lab_result_id"] = str(ids[labs[key].derived_from or key])
        entry["origin"] = origin
    return stored


# --- screenings ---------------------------------------------------------------------------------


async def for_screening(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    quantities: Mapping[str, Quantity] | None,
    day: date,
    zone: ZoneInfo,
) -> AssessmentLabs:
    """Typed labs, or (labs absent) the day's results: each missing COSSH input is a 422."""
    if quantities is not None:
        return typed(
            quantities,
            participant_id=participant_id,
            principal=principal,
            day=day,
            zone=zone,
            source="screening",
        )
    found = await of_the_day(session, participant_id, day, zone, SCREENING_ANALYTES)
    missing = missing_for_screening(found.labs)
    if missing:
        raise InvalidData(missing)
    return found


# --- visits -------------------------------------------------------------------------------------


async def for_visit(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    quantities: Mapping[str, Quantity] | None,
    day: date,
    zone: ZoneInfo,
) -> AssessmentLabs:
    """Typed labs, or (labs absent) the day's results; a visit needs none."""
    if quantities is not None:
        return typed(
            quantities,
            participant_id=participant_id,
            principal=principal,
            day=day,
            zone=zone,
            source="visit",
        )
    return await of_the_day(session, participant_id, day, zone, VISIT_ANALYTES)


async def for_visit_request(
    session: AsyncSession,
    principal: Principal,
    ctx: TreatmentContext,
    labs: Mapping[str, QuantityIn] | None,
    day: date,
) -> AssessmentLabs:
    quantities = to_quantities(labs) if labs is not None else None
    return await for_visit(session, principal, ctx.participant.id, quantities, day, ctx.timezone)


async def after_visit_correction(
    session: AsyncSession,
    principal: Principal,
    ctx: TreatmentContext,
    visit: Visit,
    data: VisitPatch,
    new_date: date,
) -> AssessmentLabs | None:
    """The visit's labs after a correction, or None when neither labs nor date change.

    `labs` sent replaces them (null: take the day's results); a new date alone re-enters
    typed labs at that date, or takes the new day's results for labs taken from results.
    """
    labs_sent = "labs" in data.model_fields_set
    if not labs_sent and new_date == visit.visit_date:
        return None
    quantities: Mapping[str, Quantity] | None
    if labs_sent:
        quantities = to_quantities(data.labs) if data.labs is not None else None
    else:
        quantities = None if _from_results(visit.labs) else _typed_quantities(visit.labs)
    return await for_visit(
        session, principal, visit.participant_id, quantities, new_date, ctx.timezone
    )


def _from_results(stored: Mapping[str, Any]) -> bool:
    return any(entry.get("origin") == FROM_RESULT for entry in stored.values())


def _typed_quantities(stored: Mapping[str, Any]) -> dict[str, Quantity]:
    return {
        key: Quantity(Decimal(str(entry["value"])), entry["unit"])
        for key, entry in stored.items()
        if "derived_from" not in entry
    }


async def attach(
    session: AsyncSession,
    assessment: AssessmentLabs,
    *,
    visit_id: uuid.UUID | None = None,
    screening_id: uuid.UUID | None = None,
) -> None:
    """Insert the typed results, owned by the record just written."""
    for result in assessment.new_results:
        result.visit_id, result.screening_id = visit_id, screening_id
    session.add_all(assessment.new_results)
    await session.flush()


async def void_visit_results(session: AsyncSession, visit_id: uuid.UUID, reason: str) -> None:
    now = clock.utc_now()
    for result in await repo.live_results_of_visit(session, visit_id):
        result.voided_at, result.void_reason, result.updated_at = now, reason, now
    await session.flush()


async def replace_visit_results(
    session: AsyncSession, visit_id: uuid.UUID, assessment: AssessmentLabs, reason: str
) -> None:
    await void_visit_results(session, visit_id, f"visit corrected: {reason}")
    await attach(session, assessment, visit_id=visit_id)
