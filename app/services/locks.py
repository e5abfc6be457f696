"""Study lock and casebook locks (SPEC §13).

The service only records the lock state; PostgreSQL enforces it: a BEFORE trigger on every
clinical table refuses writes while the study or the participant's casebook is locked
(migration 0013, SQLSTATEs DL001/DL002, answered 409 by app/middleware.py). So every write
path is covered - ORM, the raw-SQL hot paths, FHIR ingest, direct SQL - without a check in
any service.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import CasebookLock, StudyLock
from app.db.repositories import locks as repo
from app.db.repositories import signatures as signature_repo
from app.domain.errors import StateConflict
from app.schemas.locks import CasebookLockOut, DataLockOut
from app.services.participants import visible


async def study_state(session: AsyncSession) -> StudyLock:
    return await repo.study_lock(session)


async def lock_study(session: AsyncSession, principal: Principal) -> StudyLock:
    await repo.hold_study_key(session)
    row = await repo.study_lock(session, for_update=True)
    if row.locked:
        raise StateConflict("The study is already locked")
    await set_reason(session, "study lock for the final analysis")
    row.locked, row.locked_at, row.locked_by = True, clock.utc_now(), principal.user_id
    await session.flush()
    return row


async def unlock_study(session: AsyncSession, principal: Principal, reason: str) -> StudyLock:
    row = await repo.study_lock(session, for_update=True)
    if not row.locked:
        raise StateConflict("The study is not locked")
    await set_reason(session, reason)
    row.locked, row.unlocked_at, row.unlocked_by = False, clock.utc_now(), principal.user_id
    row.unlock_reason = reason
    await session.flush()
    return row


async def data_lock_stamp(session: AsyncSession) -> DataLockOut:
    """What every report states about the data it was computed from."""
    row = await repo.study_lock(session)
    if row.locked and row.locked_at is not None:
        when = row.locked_at.isoformat().replace("+00:00", "Z")
        return DataLockOut(
            study_locked=True,
            locked_at=row.locked_at,
            statement=f"Data locked for the final analysis at {when}",
        )
    return DataLockOut(
        study_locked=False, locked_at=None, statement="Data not locked: an interim look"
    )


def casebook_out(participant_id: uuid.UUID, row: CasebookLock | None) -> CasebookLockOut:
    if row is None:
        return CasebookLockOut(
            participant_id=participant_id,
            locked=False,
            locked_at=None,
            locked_by=None,
            unlocked_at=None,
            unlocked_by=None,
            unlock_reason=None,
        )
    return CasebookLockOut.model_validate(row)


async def casebook_state(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID
) -> CasebookLockOut:
    participant = await visible(session, principal, participant_id)
    return casebook_out(participant.id, await repo.casebook_lock(session, participant.id))


async def lock_casebook(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID
) -> CasebookLockOut:
    """Only a casebook with a valid (not invalidated) signature may be locked."""
    participant = await visible(session, principal, participant_id)
    await repo.hold_casebook_key(session, participant.id)
    if await signature_repo.valid_for(session, participant.id) is None:
        raise StateConflict(
            "Only a signed casebook can be locked: the participant has no valid signature"
            " (an investigator signs it; any change after signing invalidates the signature)"
        )
    row = await repo.casebook_lock(session, participant.id, for_update=True)
    if row is not None and row.locked:
        raise StateConflict("The casebook is already locked")
    await set_reason(session, "casebook lock")
    if row is None:
        row = CasebookLock(participant_id=participant.id, locked=True)
        session.add(row)
    row.locked, row.locked_at, row.locked_by = True, clock.utc_now(), principal.user_id
    await session.flush()
    return casebook_out(participant.id, row)


async def unlock_casebook(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, reason: str
) -> CasebookLockOut:
    participant = await visible(session, principal, participant_id)
    row = await repo.casebook_lock(session, participant.id, for_update=True)
    if row is None or not row.locked:
        raise StateConflict("The casebook is not locked")
    await set_reason(session, reason)
    row.locked, row.unlocked_at, row.unlocked_by = False, clock.utc_now(), principal.user_id
    row.unlock_reason = reason
    await session.flush()
    return casebook_out(participant.id, row)
