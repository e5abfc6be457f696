"""Study lock and casebook locks (HTTP only); PostgreSQL enforces them (services/locks.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.auth import Admin, AnyUser, CasebookLocker, ParticipantReader
from app.deps import SessionDep
from app.problems import error_responses
from app.schemas.locks import CasebookLockOut, StudyLockOut, UnlockIn
from app.services import locks as service

router = APIRouter(prefix="/api/v1", tags=["data management"])


@router.get("/study/lock", responses=error_responses(401))
async def study_lock_state(session: SessionDep, _: AnyUser) -> StudyLockOut:
    """Whether the study is locked for the final analysis, since when and by whom."""
    return StudyLockOut.model_validate(await service.study_state(session))


@router.post("/study/lock", responses=error_responses(401, 403, 409))
async def lock_study(session: SessionDep, principal: Admin) -> StudyLockOut:
    """Freeze every clinical write of every participant (409 while it holds), for the final
    analysis. Users, tokens, sites, audit, exports and reports keep working."""
    return StudyLockOut.model_validate(await service.lock_study(session, principal))


@router.post("/study/unlock", responses=error_responses(401, 403, 409))
async def unlock_study(data: UnlockIn, session: SessionDep, principal: Admin) -> StudyLockOut:
    """Lift the study lock; the `reason` goes into the audit trail."""
    return StudyLockOut.model_validate(await service.unlock_study(session, principal, data.reason))


@router.get("/participants/{participant_id}/lock", responses=error_responses(401, 403, 404))
async def casebook_lock_state(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader
) -> CasebookLockOut:
    """Whether the participant's casebook is locked."""
    return await service.casebook_state(session, principal, participant_id)


@router.post("/participants/{participant_id}/lock", responses=error_responses(401, 403, 404, 409))
async def lock_casebook(
    participant_id: uuid.UUID, session: SessionDep, principal: CasebookLocker
) -> CasebookLockOut:
    """Lock a signed casebook: every write to the participant answers 409 until unlocked.
    409 when the casebook has no valid signature."""
    return await service.lock_casebook(session, principal, participant_id)


@router.post("/participants/{participant_id}/unlock", responses=error_responses(401, 403, 404, 409))
async def unlock_casebook(
    participant_id: uuid.UUID, data: UnlockIn, session: SessionDep, principal: CasebookLocker
) -> CasebookLockOut:
    """Unlock a casebook; the `reason` goes into the audit trail."""
    return await service.unlock_casebook(session, principal, participant_id, data.reason)
