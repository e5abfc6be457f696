"""Allocation lists and randomization (HTTP only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.auth import AllocationAdmin, ParticipantReader, Randomizer
from app.deps import DbDep, PageDep, SessionDep, page_of
from app.problems import error_responses
from app.responses import json_response
from app.schemas.common import PageOut
from app.schemas.randomization import (
    AllocationListIn,
    AllocationListOut,
    DeactivateIn,
    ListVerificationOut,
    RandomizationOut,
    SlotOut,
)
from app.services import randomization as service

router = APIRouter(prefix="/api/v1", tags=["randomization"])


@router.post("/randomization/lists", status_code=201, responses=error_responses(401, 403, 409))
async def create_randomization_list(
    data: AllocationListIn, session: SessionDep, principal: AllocationAdmin
) -> AllocationListOut:
    """Generate the concealed permuted-block list; only one list is active at a time."""
    return await service.list_out(session, await service.create_list(session, principal, data))


@router.get("/randomization/lists", responses=error_responses(401, 403))
async def list_randomization_lists(
    session: SessionDep, _: AllocationAdmin, page: PageDep
) -> PageOut[AllocationListOut]:
    """Every allocation list, the active one included, with its commitment hash."""
    items, total = await service.lists_page(session, page.limit, page.offset)
    return PageOut(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/randomization/lists/{list_id}", responses=error_responses(401, 403, 404))
async def get_randomization_list(
    list_id: uuid.UUID, session: SessionDep, _: AllocationAdmin
) -> AllocationListOut:
    """One allocation list: size, block sizes, commitment hash, active or retired."""
    return await service.get_list(session, list_id)


@router.get("/randomization/lists/{list_id}/slots", responses=error_responses(401, 403, 404))
async def list_randomization_slots(
    list_id: uuid.UUID, session: SessionDep, _: AllocationAdmin, page: PageDep
) -> PageOut[SlotOut]:
    """The list's slots in sequence order, with the participant each one allocated."""
    return page_of(await service.slots(session, list_id), page)


@router.post("/randomization/lists/{list_id}/verify", responses=error_responses(401, 403, 404))
async def verify_randomization_list(
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
async def deactivate_randomization_list(
    list_id: uuid.UUID, data: DeactivateIn, session: SessionDep, _: AllocationAdmin
) -> AllocationListOut:
    """Retire the active list (with a reason, audited); its used slots stay as they are."""
    record = await service.deactivate_list(session, list_id, data.reason)
    return await service.list_out(session, record)


@router.post(
    "/participants/{participant_id}/randomization",
    status_code=201,
    response_model=RandomizationOut,
    responses={
        200: {"description": "already randomized: the same allocation"},
        **error_responses(401, 403, 404, 409),
    },
)
async def randomize_participant(
    participant_id: uuid.UUID, db: DbDep, principal: Randomizer
) -> Response:
    """Allocate the lowest unused slot; repeating the call returns the same allocation (200).
    Site roles are not shown the slot's sequence number (allocation concealment)."""
    earlier = await service.earlier_allocation(db, principal, participant_id)
    if earlier is not None:
        return json_response(earlier)
    record, created = await service.randomize(await db.session(), principal, participant_id)
    out = service.allocation_out(record, principal)
    return json_response(out, status_code=201 if created else 200)


@router.get(
    "/participants/{participant_id}/randomization", responses=error_responses(401, 403, 404)
)
async def get_randomization(
    participant_id: uuid.UUID, session: SessionDep, principal: ParticipantReader
) -> RandomizationOut:
    """The participant's allocation: arm, Day 1 and (for roles that may see it) the
    sequence number; 404 before randomization."""
    return await service.allocation_of(session, principal, participant_id)
