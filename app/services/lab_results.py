"""Laboratory results entered directly (SPEC §7): record, correct, read, and guard voiding.

A result keeps the value and unit as entered, the canonical value and unit, and the LOINC
code of `app.domain.analytes`. Results entered with a screening or visit (source `screening`,
`visit`) belong to that record: they are corrected or voided only through it. A result that a
live visit's labs were taken from is changed together with that visit: the visit reads the
results of its date again and its scores are recomputed, in the same transaction.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import LabResult
from app.db.repositories import labs as repo
from app.domain.analytes import ANALYTES
from app.domain.data_queries import implausible
from app.domain.errors import FieldError, InvalidData, NotFound, StateConflict
from app.domain.lab_results import DIRECT_SOURCES, collection_problems, reference_problems
from app.domain.units import CanonicalLab, Quantity, canonical_lab, convert
from app.interop.ucum import UCUM
from app.schemas.common import PageOut
from app.schemas.labs import LabResultIn, LabResultOut, LabResultPatch
from app.services import queries, visits
from app.services.assessment_labs import result_columns
from app.services.deviations import TreatmentContext, load_context
from app.services.participants import visible
from app.services.versions import check_version

NOT_NULL = ("analyte", "value", "collected_at")


# --- writing -------------------------------------------------------------------------------------


async def record(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, data: LabResultIn
) -> LabResult:
    ctx = await load_context(session, principal, participant_id, lock=True)
    columns = validated_columns(ctx, data)
    await _refuse_duplicate(session, ctx.participant.id, columns, None)
    result = LabResult(
        participant_id=ctx.participant.id, source="api", created_by=principal.user_id, **columns
    )
    session.add(result)
    await session.flush()
    await query_if_implausible(session, result)
    return result


async def query_if_implausible(session: AsyncSession, result: LabResult) -> None:
    """The service's own data query: a value outside the analyte's plausible range."""
    text = implausible(result.analyte, result.canonical_value, result.canonical_unit)
    if text is not None:
        await queries.raise_automatic(
            session, result.participant_id, "lab_result", result.id, "value", text
        )


async def correct(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    result_id: uuid.UUID,
    data: LabResultPatch,
    expected_version: int,
) -> LabResult:
    ctx = await load_context(session, principal, participant_id, lock=True)
    result = await repo.lab_result(session, ctx.participant.id, result_id, lock=True)
    if result is None or result.voided_at is not None:
        raise NotFound("No such lab result")
    check_version(expected_version, result.version)
    await check_changeable(result)
    changes = data.model_dump(exclude_unset=True, exclude={"reason", "query_id"})
    if not changes:
        raise InvalidData.one("body", "nothing to change")
    nulls = [
        FieldError(n, "cannot be null") for n in NOT_NULL if n in changes and changes[n] is None
    ]
    if nulls:
        raise InvalidData(nulls)
    columns = validated_columns(ctx, _merged(result, changes))
    await _refuse_duplicate(session, ctx.participant.id, columns, result.id)
    await set_reason(session, data.reason)
    for name, value in columns.items():
        setattr(result, name, value)
    result.updated_at = clock.utc_now()
    await session.flush()
    await rescore_visits_using(session, ctx, result)
    return result


def _merged(result: LabResult, changes: dict[str, Any]) -> LabResultIn:
    values = {
        "analyte": result.analyte,
        "value": result.value,
        "unit": result.unit,
        "collected_at": result.collected_at,
        "reference_range_high": result.reference_range_high,
        **changes,
    }
    return LabResultIn.model_construct(**values)


def validated_columns(ctx: TreatmentContext, data: LabResultIn) -> dict[str, Any]:
    """Canonical value, ULN and LOINC; every problem of the body named at once."""
    errors = collection_problems(
        data.collected_at, now=ctx.now, death_date=ctx.death_date, zone=ctx.timezone
    )
    errors += reference_problems(data.reference_range_high)
    try:
        lab = canonical_lab(data.analyte, Quantity(data.value, data.unit or ""), UCUM)
    except InvalidData as exc:
        raise InvalidData(exc.errors + errors) from None
    if errors:
        raise InvalidData(errors)
    return {
        **result_columns(lab),
        "collected_at": data.collected_at,
        "reference_range_high": data.reference_range_high,
        "reference_range_high_canonical": _canonical_reference(data, lab),
    }


def _canonical_reference(data: LabResultIn, lab: CanonicalLab) -> Decimal | None:
    if data.reference_range_high is None:
        return None
    return convert(lab.key, data.reference_range_high, lab.entered.unit, UCUM)


async def _refuse_duplicate(
    session: AsyncSession, participant_id: uuid.UUID, columns: dict[str, Any], own: uuid.UUID | None
) -> None:
    """One directly entered result per analyte and collection time (the index guards races)."""
    found = await repo.live_direct_result(
        session, participant_id, columns["analyte"], columns["collected_at"]
    )
    if found is not None and found.id != own:
        raise StateConflict(
            f"A {columns['analyte']} result collected at {columns['collected_at'].isoformat()}"
            f" already exists ({found.id}); correct it with PATCH"
        )


async def check_changeable(result: LabResult) -> None:
    """409 for a result owned by a screening or visit: it changes only through that record."""
    if result.source == "visit":
        raise StateConflict(
            f"This result was entered with visit {result.visit_id}: correct or void that visit"
            " (PATCH/void /participants/{id}/visits/{visit_id})"
        )
    if result.source not in DIRECT_SOURCES:
        raise StateConflict(
            f"This result was entered with screening {result.screening_id}: a screening is not"
            " corrected; record a new screening"
        )


async def rescore_visits_using(
    session: AsyncSession, ctx: TreatmentContext, result: LabResult
) -> None:
    """Live visits whose labs were taken from `result` read the day's results again.

    Their scores are recomputed in the same transaction and audited with the request's reason.
    (A screening keeps the value it decided on, with the result's id.)
    """
    for visit in await repo.live_visits_using(session, result.participant_id, result.id):
        await visits.reread_labs(session, ctx, visit)


# --- reading -------------------------------------------------------------------------------------


def lab_result_out(result: LabResult) -> LabResultOut:
    return LabResultOut(
        id=result.id,
        participant_id=result.participant_id,
        analyte=result.analyte,
        category=ANALYTES[result.analyte].category.value,
        value=float(result.value),
        unit=result.unit,
        canonical_value=float(result.canonical_value),
        canonical_unit=result.canonical_unit,
        loinc=result.loinc,
        collected_at=result.collected_at,
        reference_range_high=_float(result.reference_range_high),
        reference_range_high_canonical=_float(result.reference_range_high_canonical),
        source=result.source,
        screening_id=result.screening_id,
        visit_id=result.visit_id,
        version=result.version,
        created_at=result.created_at,
        updated_at=result.updated_at,
        voided_at=result.voided_at,
        void_reason=result.void_reason,
    )


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


async def get_result(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, result_id: uuid.UUID
) -> LabResultOut:
    participant = await visible(session, principal, participant_id)
    result = await repo.lab_result(session, participant.id, result_id)
    if result is None:
        raise NotFound("No such lab result")
    return lab_result_out(result)


async def list_results(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    *,
    limit: int,
    offset: int,
    **filters: Any,
) -> PageOut[LabResultOut]:
    participant = await visible(session, principal, participant_id)
    rows, total = await repo.list_lab_results(
        session, participant.id, limit=limit, offset=offset, **filters
    )
    items = [lab_result_out(r) for r in rows]
    return PageOut[LabResultOut](items=items, total=total, limit=limit, offset=offset)
