"""Allocation lists (statistician) and randomizing a participant (site staff)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import AllocationList, AllocationSlot, Randomization, Screening, Site
from app.db.repositories import participants as participants_repo
from app.db.repositories import randomization as repo
from app.db.request_db import RequestDb
from app.domain import protocol, webhooks
from app.domain.errors import NotFound, StateConflict
from app.domain.randomization import (
    ALGORITHM_ID,
    commitment_sha256,
    generate_allocation_list,
)
from app.domain.readiness import Baseline, randomization_refusals
from app.schemas.randomization import (
    AllocationListIn,
    AllocationListOut,
    RandomizationOut,
    SlotOut,
)
from app.services.access import visible_site_filter
from app.services.concealment import sees_sequence_numbers
from app.services.events import record_event
from app.services.participants import visible

LIST_CREATION_LOCK = 7_245_000_004
SEED_BYTES = 32


async def create_list(
    session: AsyncSession, principal: Principal, data: AllocationListIn
) -> AllocationList:
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LIST_CREATION_LOCK})
    if await repo.active_list(session) is not None:
        raise StateConflict("An allocation list is already active; deactivate it first")
    seed = data.seed or secrets.token_hex(SEED_BYTES)
    sizes = tuple(data.block_sizes or protocol.DEFAULT_BLOCK_SIZES)
    generated = generate_allocation_list(seed, sizes, protocol.ENROLLMENT_TARGET)
    record = AllocationList(
        seed=seed,
        block_sizes=list(generated.block_sizes),
        size=generated.size,
        algorithm=ALGORITHM_ID,
        commitment_sha256=commitment_sha256(generated),
        active=True,
        created_by=principal.user_id,
    )
    session.add(record)
    await session.flush()
    session.add_all(
        AllocationSlot(
            list_id=record.id,
            sequence_number=s.sequence_number,
            block_number=s.block_number,
            block_size=s.block_size,
            arm=s.arm,
        )
        for s in generated.slots
    )
    await session.flush()
    return record


async def deactivate_list(session: AsyncSession, list_id: uuid.UUID, reason: str) -> AllocationList:
    record = await repo.get_list(session, list_id)
    if record is None:
        raise NotFound("No such allocation list")
    if not record.active:
        raise StateConflict("The allocation list is already inactive")
    await set_reason(session, reason)
    record.active = False
    record.deactivated_at = clock.utc_now()
    record.deactivation_reason = reason
    await session.flush()
    return record


async def verify_list(
    session: AsyncSession, list_id: uuid.UUID
) -> tuple[AllocationList, str, bool]:
    record = await repo.get_list(session, list_id)
    if record is None:
        raise NotFound("No such allocation list")
    regenerated = generate_allocation_list(record.seed, tuple(record.block_sizes), record.size)
    stored = [
        (s.sequence_number, s.block_number, s.block_size, s.arm)
        for s, _ in await repo.slots_with_use(session, list_id)
    ]
    expected = [(s.sequence_number, s.block_number, s.block_size, s.arm) for s in regenerated.slots]
    return record, commitment_sha256(regenerated), stored == expected


def _baseline(screening: Screening) -> Baseline:
    return Baseline(
        assessment_date=screening.assessment_date,
        lab_keys=frozenset(screening.labs),
        he_grade=screening.he_grade,
        ascites=screening.ascites,
        has_symptoms=bool(screening.symptoms),
    )


def local_date(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


async def randomize(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID
) -> tuple[Randomization, bool]:
    """Returns the allocation and whether it was made now (False: an earlier one, replayed)."""
    participant = await visible(session, principal, participant_id, lock=True)
    existing = await repo.for_participant(session, participant.id)
    if existing is not None:
        return existing, False
    if participant.status != "eligible":
        raise StateConflict(
            f"Only an eligible participant can be randomized (status '{participant.status}')"
        )
    site = await session.get(Site, participant.site_id)
    assert site is not None
    now = clock.utc_now()
    day1 = local_date(now, site.timezone)
    screening = await participants_repo.latest_screening(session, participant.id)
    assert screening is not None  # eligible means screened
    consent = await participants_repo.latest_consent(session, participant.id)
    reasons = randomization_refusals(
        date_of_birth=participant.date_of_birth,
        day1=day1,
        consent_date=consent.consent_date if consent else None,
        baseline=_baseline(screening),
    )
    if reasons:
        raise StateConflict("; ".join(reasons))
    allocation_list = await repo.active_list_for_update(session)
    if allocation_list is None:
        raise StateConflict("No active allocation list; a statistician must create one")
    sequence = await repo.used_count(session, allocation_list.id) + 1
    slot = await repo.slot_at(session, allocation_list.id, sequence)
    if slot is None:
        raise StateConflict(f"The allocation list is exhausted ({allocation_list.size} used)")
    record = Randomization(
        participant_id=participant.id,
        list_id=allocation_list.id,
        slot_id=slot.id,
        sequence_number=slot.sequence_number,
        arm=slot.arm,
        day1=day1,
        randomized_by=principal.user_id,
    )
    session.add(record)
    participant.status = "randomized"
    participant.updated_at = now
    await session.flush()
    await record_event(
        session,
        webhooks.PARTICIPANT_RANDOMIZED,
        participant.id,
        {"id": record.id, "arm": record.arm, "day1": record.day1, "randomized_at": now},
    )
    return record, True


# --- views (the router shapes nothing itself) ----------------------------------------------
async def list_out(session: AsyncSession, record: AllocationList) -> AllocationListOut:
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


async def lists_page(
    session: AsyncSession, limit: int, offset: int
) -> tuple[list[AllocationListOut], int]:
    """Oldest first; only the page's lists are counted out."""
    records = await repo.all_lists(session)
    return [await list_out(session, r) for r in records[offset : offset + limit]], len(records)


async def get_list(session: AsyncSession, list_id: uuid.UUID) -> AllocationListOut:
    record = await repo.get_list(session, list_id)
    if record is None:
        raise NotFound("No such allocation list")
    return await list_out(session, record)


async def slots(session: AsyncSession, list_id: uuid.UUID) -> list[SlotOut]:
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


EARLIER_ALLOCATION = """
    SELECT r.participant_id, r.arm, r.sequence_number, r.randomized_at, r.day1
    FROM randomizations r JOIN participants p ON p.id = r.participant_id
    WHERE r.participant_id = $1 AND ($2::uuid IS NULL OR p.site_id = $2)
"""


async def earlier_allocation(
    db: RequestDb, principal: Principal, participant_id: uuid.UUID
) -> RandomizationOut | None:
    """The allocation already made (the repeat path of randomize: one statement on the driver
    connection, no lock needed - an allocation is never changed); None when there is none."""
    row = await db.conn.fetchrow(EARLIER_ALLOCATION, participant_id, visible_site_filter(principal))
    return None if row is None else allocation_out(row, principal)


def allocation_out(record: Randomization | Any, principal: Principal) -> RandomizationOut:
    """Site roles get the arm and Day 1, never the slot's sequence number."""
    get = record.get if isinstance(record, Mapping | asyncpg.Record) else record.__getattribute__
    return RandomizationOut(
        participant_id=get("participant_id"),
        arm=get("arm"),
        sequence_number=get("sequence_number") if sees_sequence_numbers(principal) else None,
        randomized_at=get("randomized_at"),
        day1=get("day1"),
    )


async def allocation_of(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID
) -> RandomizationOut:
    participant = await visible(session, principal, participant_id)
    record = await repo.for_participant(session, participant.id)
    if record is None:
        raise NotFound("The participant has not been randomized")
    return allocation_out(record, principal)
