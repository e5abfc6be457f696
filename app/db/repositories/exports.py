"""Read-only queries behind the CDISC exports, and the record of each export.

Every query leaves voided records out except `audit_rows`, which reads the trail itself
(through the view audit.trail: the app role has no rights on audit_log).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import (
    AdverseEvent,
    AuditTrail,
    Consent,
    Dose,
    Export,
    LabResult,
    Outcome,
    Participant,
    ProtocolDeviation,
    Randomization,
    Screening,
    Site,
    Treatment,
    User,
    Visit,
)


async def audit_head(session: AsyncSession) -> tuple[int, int]:
    """(rows, highest id) of the audit trail: a change committed meanwhile changes it."""
    rows, highest = (await session.execute(select(func.count(), func.max(AuditTrail.id)))).one()
    return int(rows), int(highest or 0)


async def sites(session: AsyncSession) -> list[Site]:
    return list(await session.scalars(select(Site).order_by(Site.code)))


async def participants(session: AsyncSession) -> list[Participant]:
    return list(await session.scalars(select(Participant).order_by(Participant.study_id)))


async def _all(
    session: AsyncSession, model: Any, *order: Any, where: Iterable[Any] = ()
) -> list[Any]:
    return list(await session.scalars(select(model).where(*where).order_by(*order)))


async def screenings(session: AsyncSession) -> list[Screening]:
    return await _all(session, Screening, Screening.created_at, Screening.id)


async def consents(session: AsyncSession) -> list[Consent]:
    return await _all(session, Consent, Consent.consent_date, Consent.created_at, Consent.id)


async def randomizations(session: AsyncSession) -> list[Randomization]:
    return await _all(session, Randomization, Randomization.randomized_at)


async def doses(session: AsyncSession) -> list[Dose]:
    """Given and not-administered doses (deviations refer to both kinds)."""
    return await _all(session, Dose, Dose.dose_number, where=[Dose.voided_at.is_(None)])


async def visits(session: AsyncSession) -> list[Visit]:
    return await _all(session, Visit, Visit.visit_day, where=[Visit.voided_at.is_(None)])


async def lab_results(session: AsyncSession) -> list[LabResult]:
    where = [LabResult.voided_at.is_(None)]
    return await _all(session, LabResult, LabResult.collected_at, LabResult.id, where=where)


async def adverse_events(session: AsyncSession) -> list[AdverseEvent]:
    where = [AdverseEvent.voided_at.is_(None)]
    return await _all(session, AdverseEvent, AdverseEvent.onset_date, where=where)


async def treatments(session: AsyncSession) -> list[Treatment]:
    where = [Treatment.voided_at.is_(None)]
    return await _all(session, Treatment, Treatment.start_date, where=where)


async def outcomes(session: AsyncSession) -> list[Outcome]:
    where = [Outcome.voided_at.is_(None)]
    return await _all(session, Outcome, Outcome.outcome_date, where=where)


async def deviations(session: AsyncSession) -> list[ProtocolDeviation]:
    where = [ProtocolDeviation.voided_at.is_(None)]
    return await _all(session, ProtocolDeviation, ProtocolDeviation.created_at, where=where)


async def users(session: AsyncSession) -> list[tuple[User, str | None]]:
    rows = await session.execute(
        select(User, Site.code).outerjoin(Site, Site.id == User.site_id).order_by(User.username)
    )
    return [(user, code) for user, code in rows]


async def audit_rows(session: AsyncSession, tables: Sequence[str], up_to: int) -> list[Any]:
    """The trail of `tables`, oldest first, up to the audit id `up_to`."""
    query = (
        select(AuditTrail)
        .where(AuditTrail.table_name.in_(tables), AuditTrail.id <= up_to)
        .order_by(AuditTrail.id)
    )
    return list(await session.scalars(query))


async def record_export(session: AsyncSession, export: Export) -> Export:
    session.add(export)
    await session.flush()
    return export
