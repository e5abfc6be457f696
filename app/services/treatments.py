"""Standard medical treatment records (SPEC §7): record, correct, read.

The rules are `app.domain.treatments`; the site's "today" and a recorded death come from the
treatment context. Corrections re-run every check on the merged record; voiding is
`app.services.voiding`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import Treatment
from app.db.repositories import labs as repo
from app.domain.errors import FieldError, InvalidData, NotFound
from app.domain.treatments import treatment_problems
from app.schemas.common import PageOut
from app.schemas.labs import TreatmentIn, TreatmentOut, TreatmentPatch
from app.services.deviations import TreatmentContext, load_context
from app.services.participants import visible
from app.services.versions import check_version

NOT_NULL = ("category", "name", "start_date")


async def record(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, data: TreatmentIn
) -> Treatment:
    ctx = await load_context(session, principal, participant_id, lock=True)
    _check(ctx, data)
    treatment = Treatment(
        participant_id=ctx.participant.id, created_by=principal.user_id, **data.model_dump()
    )
    session.add(treatment)
    await session.flush()
    return treatment


async def correct(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    treatment_id: uuid.UUID,
    data: TreatmentPatch,
    expected_version: int,
) -> Treatment:
    ctx = await load_context(session, principal, participant_id, lock=True)
    treatment = await repo.treatment(session, ctx.participant.id, treatment_id, lock=True)
    if treatment is None or treatment.voided_at is not None:
        raise NotFound("No such treatment")
    check_version(expected_version, treatment.version)
    changes = data.model_dump(exclude_unset=True, exclude={"reason", "query_id"})
    if not changes:
        raise InvalidData.one("body", "nothing to change")
    nulls = [
        FieldError(n, "cannot be null") for n in NOT_NULL if n in changes and changes[n] is None
    ]
    if nulls:
        raise InvalidData(nulls)
    merged = TreatmentIn.model_construct(**{**_columns(treatment), **changes})
    _check(ctx, merged)
    await set_reason(session, data.reason)
    for name, value in changes.items():
        setattr(treatment, name, value)
    treatment.updated_at = clock.utc_now()
    await session.flush()
    return treatment


def _columns(treatment: Treatment) -> dict[str, Any]:
    return {name: getattr(treatment, name) for name in TreatmentIn.model_fields}


def _check(ctx: TreatmentContext, data: TreatmentIn) -> None:
    errors = treatment_problems(
        category=data.category,
        start_date=data.start_date,
        end_date=data.end_date,
        atc_code=data.atc_code,
        today=ctx.today,
        death_date=ctx.death_date,
    )
    if errors:
        raise InvalidData(errors)


async def get_treatment(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, treatment_id: uuid.UUID
) -> TreatmentOut:
    participant = await visible(session, principal, participant_id)
    treatment = await repo.treatment(session, participant.id, treatment_id)
    if treatment is None:
        raise NotFound("No such treatment")
    return TreatmentOut.model_validate(treatment)


async def list_treatments(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    *,
    category: str | None,
    include_voided: bool,
    limit: int,
    offset: int,
) -> PageOut[TreatmentOut]:
    participant = await visible(session, principal, participant_id)
    rows, total = await repo.list_treatments(
        session,
        participant.id,
        category=category,
        include_voided=include_voided,
        limit=limit,
        offset=offset,
    )
    items = [TreatmentOut.model_validate(r) for r in rows]
    return PageOut[TreatmentOut](items=items, total=total, limit=limit, offset=offset)
