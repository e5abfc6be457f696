"""The CONSORT flow report: assessed, excluded with reasons, allocated, received, analysed."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import reports as repo
from app.domain import endpoints as stats
from app.domain import protocol
from app.schemas.reports import (
    ConsortArmOut,
    ConsortOut,
    DiscontinuedOut,
    ExcludedOut,
    ScreenFailuresOut,
)
from app.services import locks

CONSORT_DEFINITIONS = {
    "assessed_for_eligibility": "participants with at least one screening assessment",
    "excluded": "assessed but not randomized: screen failures (by failed criterion code) "
    "and eligible participants not randomized",
    "received_allocated_intervention": "exosome: at least one dose given; control: everyone "
    "allocated (SMT)",
    "lost_to_follow_up": "a lost_to_follow_up outcome is recorded",
    "discontinued": "a withdrawn or treatment_abandoned outcome is recorded",
    "analysed": "intention to treat: everyone randomized",
}


async def consort(session: AsyncSession) -> ConsortOut:
    screenings = await repo.latest_screenings(session)
    statuses = await repo.statuses(session)
    allocations = await repo.allocations(session)
    dosed = set(await repo.dose_dates(session))
    kinds: dict[uuid.UUID, set[str]] = defaultdict(set)
    for pid, kind, _ in await repo.outcomes(session):
        kinds[pid].add(kind)
    failed = [s for pid, s in screenings.items() if statuses.get(pid) == "screen_failed"]
    reasons = Counter(code for s in failed for code in {r.split(":", 1)[0] for r in s.reasons})
    randomized = {a.participant_id for a in allocations}
    waiting = sum(
        1 for pid in screenings if statuses.get(pid) == "eligible" and pid not in randomized
    )
    arms = {
        arm: _consort_arm(
            [a.participant_id for a in allocations if a.arm == arm], arm, dosed, kinds, statuses
        )
        for arm in protocol.ARMS
    }
    return ConsortOut(
        assessed_for_eligibility=len(screenings),
        excluded=ExcludedOut(
            total=len(failed) + waiting,
            screen_failed=ScreenFailuresOut(
                participants=len(failed), by_reason=dict(sorted(reasons.items()))
            ),
            eligible_not_randomized=waiting,
        ),
        randomized=len(allocations),
        arms=arms,
        definitions=CONSORT_DEFINITIONS,
        data_lock=await locks.data_lock_stamp(session),
    )


def _consort_arm(
    members: list[uuid.UUID],
    arm: str,
    dosed: set[uuid.UUID],
    kinds: dict[uuid.UUID, set[str]],
    statuses: dict[uuid.UUID, str],
) -> ConsortArmOut:
    def having(kind: str) -> int:
        return sum(1 for pid in members if kind in kinds[pid])

    received = len(members) if arm == stats.CONTROL_ARM else sum(1 for p in members if p in dosed)
    withdrawn, abandoned = having("withdrawn"), having("treatment_abandoned")
    discontinued = sum(1 for p in members if kinds[p] & {"withdrawn", "treatment_abandoned"})
    return ConsortArmOut(
        allocated=len(members),
        received_allocated_intervention=received,
        did_not_receive_allocated_intervention=len(members) - received,
        lost_to_follow_up=having("lost_to_follow_up"),
        discontinued=DiscontinuedOut(
            total=discontinued, withdrawn=withdrawn, treatment_abandoned=abandoned
        ),
        liver_transplant=having("liver_transplant"),
        died=having("death"),
        completed=sum(1 for p in members if statuses.get(p) == "completed"),
        analysed=len(members),
        excluded_from_analysis=0,
    )
