"""Lab Observations in: a FHIR transaction Bundle becomes lab results (source `fhir`).

All or nothing, in the request's one transaction: every entry is checked (the pure checks of
app/interop/fhir/ingest.py, then the subject, the participant's rules and the existing
results) and any problem raises one OperationOutcome naming each entry at fault, so nothing is
written. Conditional create (SPEC §10): an entry whose key (`ifNoneExist` identifier, or the
Observation's identifier) is already stored with the same content creates nothing and answers
`200 OK` with the existing location; with other content it is a conflict (a correction goes
through PATCH, with a reason). The same analyte and collection time as a result entered
otherwise (API) is matched the same way. The lab results rules of app/services/lab_results.py
(not in the future, not after a recorded death, UCUM conversion) apply unchanged, so a
screening or visit without `labs` takes ingested results as it takes any other.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import LabResult, Participant
from app.db.repositories import labs as labs_repo
from app.domain.errors import InvalidData, NotFound
from app.interop.fhir.bundles import EntryResult, FhirError, Issue
from app.interop.fhir.ingest import LabEntry, SubjectKey, lab_entries
from app.interop.fhir.terminology import STUDY_ID_SYSTEM
from app.interop.ucum import UCUM
from app.schemas.labs import LabResultIn
from app.services import mrn
from app.services.deviations import TreatmentContext, load_context
from app.services.lab_results import query_if_implausible, validated_columns
from app.services.participants import visible

FIELD_PATHS = {
    "value": "resource.valueQuantity.value",
    "unit": "resource.valueQuantity.code",
    "collected_at": "resource.effectiveDateTime",
    "reference_range_high": "resource.referenceRange[0].high.value",
    "analyte": "resource.code",
}
CONFLICT_CODES = frozenset({"conflict", "duplicate"})


async def ingest(
    session: AsyncSession, principal: Principal, body: Any, max_entries: int
) -> list[EntryResult]:
    entries = lab_entries(body, UCUM, max_entries)
    issues: list[Issue] = []
    subjects = await _resolve(session, principal, entries, issues)
    contexts = {
        pid: await load_context(session, principal, pid, lock=True)
        for pid in sorted(set(subjects.values()), key=str)  # one lock order: no deadlocks
    }
    results: list[EntryResult] = []
    for entry in entries:
        pid = subjects.get(entry.subject)
        if pid is None:
            continue
        result = await _one(session, principal, contexts[pid], entry, issues)
        if result is not None:
            results.append(result)
    if issues:
        conflicts_only = all(i.code in CONFLICT_CODES for i in issues)
        raise FhirError(409 if conflicts_only else 422, issues)
    await session.flush()
    return results


async def _resolve(
    session: AsyncSession, principal: Principal, entries: Sequence[LabEntry], issues: list[Issue]
) -> dict[SubjectKey, uuid.UUID]:
    """Each subject once: a participant the caller may see (another site's is not found)."""
    by_key: dict[SubjectKey, list[LabEntry]] = defaultdict(list)
    for entry in entries:
        by_key[entry.subject].append(entry)
    found: dict[SubjectKey, uuid.UUID] = {}
    for key, users in by_key.items():
        candidates = await _candidates(session, principal, key)
        if len(candidates) == 1:
            found[key] = candidates[0]
            continue
        code, text = (
            ("not-found", f"no participant {key.describe()}")
            if not candidates
            else ("multiple-matches", f"{key.describe()} matches several participants")
        )
        issues += [Issue(code, text, e.path("resource.subject")) for e in users]
    return found


async def _candidates(
    session: AsyncSession, principal: Principal, key: SubjectKey
) -> list[uuid.UUID]:
    if key.participant_id is not None:
        try:
            return [(await visible(session, principal, key.participant_id)).id]
        except NotFound:
            return []
    system, value = key.system or "", key.value or ""
    if system == STUDY_ID_SYSTEM:
        ids = list(
            await session.scalars(select(Participant.id).where(Participant.study_id == value))
        )
    else:
        ids = await mrn.find(session, principal, system, value)
    rows = [
        p
        for p in await session.scalars(select(Participant).where(Participant.id.in_(ids)))
        if principal.can_see_site(p.site_id)
    ]
    if len(rows) > 1:  # a screen failure re-screened as a new participant keeps its MRN
        rows = [p for p in rows if p.status != "screen_failed"]
    return [p.id for p in rows]


async def _one(
    session: AsyncSession,
    principal: Principal,
    ctx: TreatmentContext,
    entry: LabEntry,
    issues: list[Issue],
) -> EntryResult | None:
    data = LabResultIn.model_construct(
        analyte=entry.analyte,
        value=entry.value,
        unit=entry.unit,
        collected_at=entry.collected_at,
        reference_range_high=entry.reference_high,
    )
    try:
        columns = validated_columns(ctx, data)
    except InvalidData as exc:
        issues += [
            Issue("value", e.message, entry.path(FIELD_PATHS.get(e.field, "resource")))
            for e in exc.errors
        ]
        return None
    existing = await _by_identifier(session, entry) or await labs_repo.live_direct_result(
        session, ctx.participant.id, entry.analyte, entry.collected_at
    )
    if existing is not None:
        return _matched(existing, ctx, entry, columns, issues)
    result = LabResult(
        participant_id=ctx.participant.id,
        source="fhir",
        created_by=principal.user_id,
        fhir_identifier_system=entry.identifier[0],
        fhir_identifier_value=entry.identifier[1],
        **columns,
    )
    session.add(result)
    await session.flush()
    await query_if_implausible(session, result)
    return EntryResult(True, f"Observation/{result.id}", result.version, result.created_at)


async def _by_identifier(session: AsyncSession, entry: LabEntry) -> LabResult | None:
    system, value = entry.identifier
    return await session.scalar(
        select(LabResult).where(
            LabResult.fhir_identifier_system == system, LabResult.fhir_identifier_value == value
        )
    )


def _matched(
    existing: LabResult,
    ctx: TreatmentContext,
    entry: LabEntry,
    columns: dict[str, Any],
    issues: list[Issue],
) -> EntryResult | None:
    """Nothing new when the stored result says the same; a conflict when it does not."""
    if existing.participant_id != ctx.participant.id:
        issues.append(
            Issue(
                "conflict",
                "this identifier is already used by an Observation of another participant",
                entry.path("request.ifNoneExist"),
            )
        )
        return None
    same = (
        existing.analyte == columns["analyte"]
        and existing.collected_at == columns["collected_at"]
        and existing.canonical_value == columns["canonical_value"]
    )
    if not same:
        issues.append(
            Issue(
                "conflict",
                f"Observation/{existing.id} already holds this"
                f" {'identifier' if existing.fhir_identifier_value else 'analyte and time'}"
                " with other content; a correction is a PATCH of"
                f" /api/v1/participants/{existing.participant_id}/lab-results/{existing.id}"
                " with a reason",
                entry.path("resource"),
            )
        )
        return None
    state = "voided" if existing.voided_at is not None else "stored"
    note = f"matched Observation/{existing.id} ({state}): nothing created"
    changed = existing.updated_at or existing.created_at
    return EntryResult(False, f"Observation/{existing.id}", existing.version, changed, note)
