"""FHIR reads and searches (SPEC §10): fetch the records the caller may see, call the mappers.

Site isolation is the same as /api/v1: a site-bound caller's filter keeps its own site, so
another site's record is "not found" and never counted. Who may call what (roles and SMART
scopes) is the router's dependency (app/routers/fhir.py); the MRN is shown as
app/services/mrn.py decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.resource import Resource
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import AdverseEvent, Dose, Participant, Visit
from app.db.repositories import fhir as repo
from app.db.repositories import fhir_observations as obs_repo
from app.interop.fhir import clinical, observations, subjects
from app.interop.fhir.bundles import FhirError
from app.interop.fhir.search import DateBound, SearchQuery, Token
from app.interop.fhir.terminology import PROTOCOL_SYSTEM, STUDY_ID, STUDY_ID_SYSTEM
from app.services import fhir_records as records
from app.services import mrn


@dataclass(frozen=True, slots=True)
class Found:
    resources: list[Resource]
    total: int


def not_found(resource_type: str, resource_id: str) -> FhirError:
    return FhirError.one(404, "not-found", f"{resource_type}/{resource_id} is not known")


def _site(principal: Principal) -> uuid.UUID | None:
    return principal.site_id if principal.site_bound else None


def _uuid(resource_type: str, resource_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(resource_id)
    except ValueError:
        raise not_found(resource_type, resource_id) from None


def _updated(model: Any, bounds: Sequence[DateBound]) -> tuple[tuple[Any, Any, DateBound], ...]:
    start, end = repo.instant(repo.last_updated(model))
    return tuple((start, end, b) for b in bounds)


# --- ResearchStudy ---------------------------------------------------------------------------


async def read_study(_: AsyncSession, __: Principal, resource_id: str) -> Resource:
    if resource_id != STUDY_ID:
        raise not_found("ResearchStudy", resource_id)
    return subjects.research_study()


async def search_study(_: AsyncSession, __: Principal, query: SearchQuery) -> Found:
    for tokens in query.any_of("identifier"):
        if not any(t.code == STUDY_ID and t.system in (None, PROTOCOL_SYSTEM) for t in tokens):
            return Found([], 0)
    if query.offset > 0 or query.count == 0:
        return Found([], 1)
    return Found([subjects.research_study()], 1)


# --- ResearchSubject and Patient --------------------------------------------------------------


def _refers_to_the_study(query: SearchQuery) -> bool:
    return all(STUDY_ID in targets for targets in query.references.get("study", ()))


async def _subjects(
    session: AsyncSession, principal: Principal, rows: list[Any], as_patient: bool
) -> list[Resource]:
    shown = await mrn.shown(session, principal, [r[0] for r in rows]) if as_patient else {}
    out: list[Resource] = []
    for row in rows:
        record = records.subject(row, shown.get(row[0].id))
        out.append(subjects.patient(record) if as_patient else subjects.research_subject(record))
    return out


async def _read_participant(
    session: AsyncSession, principal: Principal, kind: str, resource_id: str
) -> Resource:
    pid = _uuid(kind, resource_id)
    where = repo.Filter(site_id=_site(principal), patients=frozenset({pid}))
    rows, _ = await repo.subjects(session, where, 1, 0)
    if not rows:
        raise not_found(kind, resource_id)
    return (await _subjects(session, principal, rows, kind == "Patient"))[0]


async def read_subject(session: AsyncSession, principal: Principal, resource_id: str) -> Resource:
    return await _read_participant(session, principal, "ResearchSubject", resource_id)


async def read_patient(session: AsyncSession, principal: Principal, resource_id: str) -> Resource:
    return await _read_participant(session, principal, "Patient", resource_id)


async def search_subjects(session: AsyncSession, principal: Principal, query: SearchQuery) -> Found:
    if not _refers_to_the_study(query):
        return Found([], 0)
    where = repo.Filter(
        site_id=_site(principal),
        patients=query.patients,
        dates=_updated(Participant, query.dates.get("_lastUpdated", ())),
    )
    rows, total = await repo.subjects(session, where, query.count, query.offset)
    return Found(await _subjects(session, principal, rows, as_patient=False), total)


async def _by_identifier(
    session: AsyncSession, principal: Principal, tokens: tuple[Token, ...]
) -> set[uuid.UUID]:
    """Participants by study id and, for whom may see MRNs, by the site's MRN."""
    found: set[uuid.UUID] = set()
    for t in tokens:
        if t.system in (None, STUDY_ID_SYSTEM):
            found.update(
                await session.scalars(select(Participant.id).where(Participant.study_id == t.code))
            )
        if t.system != STUDY_ID_SYSTEM and t.system != "":
            found.update(await mrn.find(session, principal, t.system, t.code))
    return found


async def search_patients(session: AsyncSession, principal: Principal, query: SearchQuery) -> Found:
    patients: set[uuid.UUID] | None = None
    for tokens in query.any_of("identifier"):
        ids = await _by_identifier(session, principal, tokens)
        patients = ids if patients is None else patients & ids
    where = repo.Filter(
        site_id=_site(principal),
        patients=frozenset(patients) if patients is not None else None,
        dates=_updated(Participant, query.dates.get("_lastUpdated", ())),
    )
    rows, total = await repo.subjects(session, where, query.count, query.offset)
    return Found(await _subjects(session, principal, rows, as_patient=True), total)


# --- Observation ------------------------------------------------------------------------------


async def read_observation(
    session: AsyncSession, principal: Principal, resource_id: str
) -> Resource:
    site = _site(principal)
    score = observations.parse_score_observation_id(resource_id)
    if score is not None:
        kind, record_id, key = score
        if kind == "visit":
            scores = [
                r
                for v in await obs_repo.visits(session, [record_id], site)
                for r in records.visit_scores(v, key)
            ]
        else:
            scores = [
                r
                for s in await obs_repo.screenings(session, [record_id], site)
                for r in records.screening_scores(s, key)
            ]
        if not scores:
            raise not_found("Observation", resource_id)
        return observations.score_observation(scores[0])
    results = await obs_repo.lab_results(session, [_uuid("Observation", resource_id)], site)
    if not results:
        raise not_found("Observation", resource_id)
    return observations.lab_observation(records.lab(results[0]))


async def search_observations(
    session: AsyncSession, principal: Principal, query: SearchQuery
) -> Found:
    where = obs_repo.ObservationFilter(
        base=repo.Filter(site_id=_site(principal), patients=query.patients),
        codes=query.any_of("code"),
        categories=query.any_of("category"),
        identifiers=query.any_of("identifier"),
        dates=query.dates.get("date", ()),
        last_updated=query.dates.get("_lastUpdated", ()),
    )
    rows, total = await obs_repo.observations(session, where, query.count, query.offset)
    site = _site(principal)
    labs = {r.id: r for r in await obs_repo.lab_results(session, _ids(rows, "lab"), site)}
    visits = {v.id: v for v in await obs_repo.visits(session, _ids(rows, "visit"), site)}
    screenings = {
        s.id: s for s in await obs_repo.screenings(session, _ids(rows, "screening"), site)
    }
    out: list[Resource] = []
    for kind, record_id, key in rows:
        if kind == "lab":
            out.append(observations.lab_observation(records.lab(labs[record_id])))
        elif kind == "visit":
            (score,) = records.visit_scores(visits[record_id], key)
            out.append(observations.score_observation(score))
        else:
            (score,) = records.screening_scores(screenings[record_id], key)
            out.append(observations.score_observation(score))
    return Found(out, total)


def _ids(rows: Sequence[Any], kind: str) -> list[uuid.UUID]:
    return list({row[1] for row in rows if row[0] == kind})


# --- Encounter, MedicationAdministration, AdverseEvent -------------------------------------------


async def read_encounter(session: AsyncSession, principal: Principal, resource_id: str) -> Resource:
    found = await obs_repo.visits(session, [_uuid("Encounter", resource_id)], _site(principal))
    if not found:
        raise not_found("Encounter", resource_id)
    return clinical.encounter(records.visit(found[0]))


async def search_encounters(
    session: AsyncSession, principal: Principal, query: SearchQuery
) -> Found:
    start, end = repo.day(Visit.visit_date)
    where = repo.Filter(
        site_id=_site(principal),
        patients=query.patients,
        dates=tuple((start, end, b) for b in query.dates.get("date", ()))
        + _updated(Visit, query.dates.get("_lastUpdated", ())),
    )
    rows, total = await repo.visits(session, where, query.count, query.offset)
    return Found([clinical.encounter(records.visit(row[0])) for row in rows], total)


async def _dose_page(
    session: AsyncSession, where: repo.Filter, count: int, offset: int
) -> tuple[list[Resource], int]:
    rows, total = await repo.doses(session, where, count, offset)
    return [clinical.medication_administration(records.dose(d, day1)) for d, day1 in rows], total


async def read_administration(
    session: AsyncSession, principal: Principal, resource_id: str
) -> Resource:
    dose_id = _uuid("MedicationAdministration", resource_id)
    where = repo.Filter(site_id=_site(principal), extra=(Dose.id == dose_id,))
    rows, _ = await repo.doses(session, where, 1, 0)
    if not rows:
        raise not_found("MedicationAdministration", resource_id)
    dose, day1 = rows[0]
    return clinical.medication_administration(records.dose(dose, day1))


async def search_administrations(
    session: AsyncSession, principal: Principal, query: SearchQuery
) -> Found:
    start, end = repo.dose_effective()
    where = repo.Filter(
        site_id=_site(principal),
        patients=query.patients,
        dates=tuple((start, end, b) for b in query.dates.get("effective-time", ()))
        + _updated(Dose, query.dates.get("_lastUpdated", ())),
    )
    resources, total = await _dose_page(session, where, query.count, query.offset)
    return Found(resources, total)


async def read_adverse_event(
    session: AsyncSession, principal: Principal, resource_id: str
) -> Resource:
    row = await repo.adverse_event(session, _uuid("AdverseEvent", resource_id))
    if row is None or not principal.can_see_site(row.site_id):
        raise not_found("AdverseEvent", resource_id)
    event: AdverseEvent = row[0]
    if event.voided_at is not None:
        raise FhirError.one(410, "deleted", f"AdverseEvent/{resource_id} was voided")
    return clinical.adverse_event(records.adverse_event(event, row.arm))


SERIOUSNESS = {"Serious": True, "Non-serious": False}


async def search_adverse_events(
    session: AsyncSession, principal: Principal, query: SearchQuery
) -> Found:
    if not _refers_to_the_study(query):
        return Found([], 0)
    serious: bool | None = None
    for tokens in query.any_of("seriousness"):
        values = {SERIOUSNESS.get(t.code) for t in tokens} - {None}
        if len(values) != 1:  # none known: nothing matches; both: no filter
            if not values:
                return Found([], 0)
            continue
        wanted = values.pop()
        if serious is not None and serious != wanted:
            return Found([], 0)
        serious = wanted
    start, end = repo.day(AdverseEvent.onset_date)
    where = repo.Filter(
        site_id=_site(principal),
        patients=query.patients,
        dates=tuple((start, end, b) for b in query.dates.get("date", ()))
        + _updated(AdverseEvent, query.dates.get("_lastUpdated", ())),
    )
    rows, total = await repo.adverse_events(session, where, serious, query.count, query.offset)
    return Found(
        [clinical.adverse_event(records.adverse_event(ae, arm)) for ae, arm in rows], total
    )


Reader = Callable[[AsyncSession, Principal, str], Awaitable[Resource]]
Searcher = Callable[[AsyncSession, Principal, SearchQuery], Awaitable[Found]]
OPERATIONS: dict[str, tuple[Reader, Searcher]] = {
    "ResearchStudy": (read_study, search_study),
    "ResearchSubject": (read_subject, search_subjects),
    "Patient": (read_patient, search_patients),
    "Observation": (read_observation, search_observations),
    "Encounter": (read_encounter, search_encounters),
    "MedicationAdministration": (read_administration, search_administrations),
    "AdverseEvent": (read_adverse_event, search_adverse_events),
}
