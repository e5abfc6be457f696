"""Allocation lists and randomization (HTTP only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.auth import AllocationAdmin, ParticipantReader, Randomizer
from app.db.models import AllocationList, Randomization
from app.db.repositories import randomization as repo
from app.deps import SessionDep
from app.domain.errors import NotFound
from app.problems import error_responses
from app.schemas.randomization import (
    AllocationListIn,
    AllocationListOut,
    DeactivateIn,
    ListVerificationOut,
    RandomizationOut,
    SlotOut,
)
from app.services import randomization as service
from app.services.participants import visible

router = APIRouter(prefix="/api/v1", tags=["randomization"])


async def _list_out(session: SessionDep, record: AllocationList) -> AllocationListOut:
    return AllocationListOut(
        id=record.id,
        size=record.size,
        block_sizes=record.block_sizes,
        algorithm=record.algorithm,
        commitment_sha256=record.commitment_sha256,
        active=record.active,
        created_at=record.created_at,
        used=await repo.used_count(session, record.id),
        seed=record.seed,
        deactivated_at=record.deactivated_at,
        deactivation_reason=record.deactivation_reason,
    )


def _allocation_out(record: Randomization) -> RandomizationOut:
    return RandomizationOut(
        participant_id=record.participant_id,
        arm=record.arm,
        sequence_number=record.sequence_number,
        randomized_at=record.randomized_at,
        day1=record.day1,
    )


@router.post("/randomization/lists", status_code=201, responses=error_responses(401, 403, 409))
async def create_list(
    data: AllocationListIn, session: SessionDep, principal: AllocationAdmin
) -> AllocationListOut:
    """Generate the concealed permuted-block list; only one list is active at a time."""
    return await _list_out(session, await service.create_list(session, principal, data))


@router.get("/randomization/lists", responses=error_responses(401, 403))
async def list_lists(session: SessionDep, _: AllocationAdmin) -> list[AllocationListOut]:
    return [await _list_out(session, r) for r in await repo.all_lists(session)]


@router.get("/randomization/lists/{list_id}", responses=error_responses(401, 403, 404))
async def get_list(
    list_id: uuid.UUID, session: SessionDep, _: AllocationAdmin
) -> AllocationListOut:
    record = await repo.get_list(session, list_id)
    if record is None:
        raise NotFound("No such allocation list")
    return await _list_out(session, record)


@router.get("/randomization/lists/{list_id}/slots", responses=error_responses(401, 403, 404))
async def list_slots(list_id: uuid.UUID, session: SessionDep, _: AllocationAdmin) -> list[SlotOut]:
    if await repo.get_list(session, list_id) is None:
        raise NotFound("No such allocation list")
    return [
        SlotOut(
            sequence_number=s.sequence_number,
            block_number=s.block_number,
            block_size=s.block_size,
            arm=s.arm,
            participant_id=pid,
        )
        for s, pid in await repo.slots_with_use(session, list_id)
    ]


@router.post("/randomization/lists/{list_id}/verify", responses=error_responses(401, 403, 404))
async def verify_list(
    list_id: uuid.UUID, session: SessionDep, _: AllocationAdmin
) -> ListVerificationOut:
    """Re-derive the list from its stored seed and compare with the commitment and slots."""
    record, recomputed, slots_match = await service.verify_list(session, list_id)
    return ListVerificationOut(
        list_id=record.id,
        commitment_sha256=record.commitment_sha256,
        recomputed_sha256=recomputed,
        commitment_matches=recomputed == record.commitment_sha256,
        stored_slots_match=slots_match,
    )


@router.post(
    "/randomization/lists/{list_id}/deactivate",
    responses=error_responses(401, 403, 404, 409),
)
async def deactivate_list(
    list_id: uuid.UUID, data: DeactivateIn, session: SessionDep, _: AllocationAdmin
) -> AllocationListOut:
    """Retire the active list (with a reason, audited); its used slots stay as they are."""
    return await _list_out(session, await service.deactivate_list(session, list_id, data.reason))


@router.post(
    "/participants/{participant_id}/randomization",
    status_code=201,
    responses={
        200: {"description": "already randomized: the same allocation"},
        **error_responses(401, 403, 404, 409),
    },
)
async def randomize(
    participant_id: uuid.UUID, session: SessionDep, principal: Randomizer, response: Response
) -> RandomizationOut:
    """Allocate the lowest unused slot; repeating the call returns the same allocation (200)."""
    record, created = await service.randomize(session, principal, participant_id)
    if not created:
        response.status_code = 200
    return _allocation_out(record)


@router.get(
    "/participants/{participant_id}/randomization", responses=error_responses(401, 403, 404)
)
async def get_allocation(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader
) -> RandomizationOut:
    participant = await visible(session, principal, participant_id)
    record = await repo.for_participant(session, participant.id)
    if record is None:
        raise NotFound("The participant has not been randomized")
    return _allocation_out(record)
