"""The safety report (SPEC §2.6): treatment-emergent events over each arm's safety set."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AdverseEvent
from app.db.repositories import reports as repo
from app.domain import endpoints as stats
from app.domain import protocol
from app.domain.adverse_events import is_fatal
from app.domain.safety_analysis import (
    Exposure,
    in_safety_set,
    is_related,
    is_severe,
    is_treatment_emergent,
)
from app.schemas.reports import SafetyExclusionsOut, SafetyGroupOut, SafetyReportOut
from app.services import locks
from app.services.adverse_events import stored_input

SAFETY_DEFINITIONS = {
    "treatment_emergent": "onset on or after Day 1 and, in the exosome arm, on or after the "
    "date of the first dose given",
    "safety_set": "every randomized control participant and every exosome participant with "
    "at least one dose given",
    "related": "relatedness possible, probable or definite",
    "grade_3_or_higher": "CTCAE v5 grade 3, 4 or 5",
}


async def safety(session: AsyncSession) -> SafetyReportOut:
    allocations = await repo.allocations(session)
    doses = await repo.dose_dates(session)
    exposure = {
        a.participant_id: Exposure(a.arm, a.day1, doses[a.participant_id][0])
        if a.participant_id in doses
        else Exposure(a.arm, a.day1, None)
        for a in allocations
    }
    died = {pid for pid, kind, _ in await repo.outcomes(session) if kind == "death"}
    events = await repo.adverse_events(session)
    in_set = {pid for pid, e in exposure.items() if in_safety_set(e)}
    emergent = [
        e
        for e in events
        if e.participant_id in in_set
        and is_treatment_emergent(e.onset_date, exposure[e.participant_id])
    ]
    arms = {
        arm: _safety_group(
            [e for e in emergent if exposure[e.participant_id].arm == arm],
            members=[pid for pid in in_set if exposure[pid].arm == arm],
            died=died,
        )
        for arm in protocol.ARMS
    }
    outside = [e for e in events if e.participant_id not in exposure]
    excluded = SafetyExclusionsOut(
        events_not_treatment_emergent=sum(1 for e in events if e.participant_id in in_set)
        - len(emergent),
        events_outside_safety_set=sum(
            1 for e in events if e.participant_id in exposure and e.participant_id not in in_set
        ),
        exosome_participants_never_dosed=sum(
            1 for pid, e in exposure.items() if e.arm == stats.EXOSOME_ARM and pid not in in_set
        ),
    )
    return SafetyReportOut(
        arms=arms,
        excluded=excluded,
        not_randomized=_safety_group(outside, sorted({e.participant_id for e in outside}), died),
        definitions=SAFETY_DEFINITIONS,
        data_lock=await locks.data_lock_stamp(session),
    )


def _safety_group(
    events: list[AdverseEvent], members: Iterable[uuid.UUID], died: set[uuid.UUID]
) -> SafetyGroupOut:
    people = list(members)
    grades = Counter(e.ctcae_grade for e in events)
    return SafetyGroupOut(
        participants=len(people),
        participants_with_ae=len({e.participant_id for e in events}),
        participants_with_sae=len({e.participant_id for e in events if e.serious}),
        events=len(events),
        serious_events=sum(1 for e in events if e.serious),
        grade_3_or_higher_events=sum(1 for e in events if is_severe(e.ctcae_grade)),
        related_events=sum(1 for e in events if is_related(e.relatedness)),
        events_by_grade={str(g): grades.get(g, 0) for g in range(1, 6)},
        susars=sum(1 for e in events if e.susar),
        fatal_events=sum(1 for e in events if _fatal(e)),
        deaths=sum(1 for p in people if p in died),
    )


def _fatal(event: AdverseEvent) -> bool:
    return is_fatal(stored_input(event))
