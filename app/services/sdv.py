"""Source data verification (SPEC §13): a monitor marks a record as verified against its
source. PostgreSQL clears the mark when the record changes afterwards (the `datamgmt_after`
trigger of migration 0013), whichever path changed it.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import SdvMark
from app.db.repositories import sdv as repo
from app.domain.data_queries import RESOURCE_TABLES
from app.domain.errors import StateConflict
from app.schemas.sdv import SdvIn, SdvOut, SdvProgressOut, SdvRecordOut
from app.services.participants import visible
from app.services.queries import check_own_record


async def verify(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, data: SdvIn
) -> SdvRecordOut:
    participant = await visible(session, principal, participant_id)
    await check_own_record(session, participant.id, data.resource, data.record_id)
    if await repo.current_mark(session, data.record_id) is not None:
        raise StateConflict("The record is already verified (and unchanged since)")
    await set_reason(session, "source data verified")
    mark = SdvMark(
        participant_id=participant.id,
        resource=data.resource,
        record_id=data.record_id,
        verified_by=principal.user_id,
    )
    session.add(mark)
    await session.flush()
    return _out(data.resource, data.record_id, mark)


async def status(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, limit: int, offset: int
) -> SdvOut:
    """One page of the records; the progress counts them all."""
    participant = await visible(session, principal, participant_id)
    marks = {m.record_id: m for m in await repo.current_marks(session, participant.id)}
    live = await repo.live_records(session, participant.id, RESOURCE_TABLES)
    items = [
        _out(resource, record_id, marks.get(record_id))
        for resource, record_id, _ in sorted(live, key=lambda r: (r[2], str(r[1])))
    ]
    verified = sum(1 for i in items if i.verified)
    return SdvOut(
        items=items[offset : offset + limit],
        total=len(items),
        limit=limit,
        offset=offset,
        progress=SdvProgressOut(verified=verified, total=len(items)),
    )


def _out(resource: str, record_id: uuid.UUID, mark: SdvMark | None) -> SdvRecordOut:
    return SdvRecordOut(
        resource=resource,
        record_id=record_id,
        verified=mark is not None,
        verified_by=mark.verified_by if mark else None,
        verified_at=mark.verified_at if mark else None,
    )
