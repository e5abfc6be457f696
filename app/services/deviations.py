"""Protocol deviations, and the treatment context that dosing and visits both decide on.

A deviation is written by the service that records the off-protocol dose or visit, in the
same transaction, one row per domain finding, linked by (`record_table`, `record_id`). A
correction re-runs the rules: findings that still hold keep their row, findings that no
longer hold are voided (with the correction's reason) and new findings get new rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.models import Participant, ProtocolDeviation, Randomization
from app.db.repositories import context_rows
from app.db.repositories import randomization as randomization_repo
from app.db.repositories import treatment as repo
from app.db.request_db import RequestDb
from app.domain import protocol
from app.domain.deviations import DeviationFinding, TerminalEvent
from app.domain.errors import NotFound
from app.schemas.common import PageOut
from app.schemas.treatment import DeviationOut
from app.services.access import visible_site_filter
from app.services.participants import visible


@dataclass(frozen=True, slots=True)
class ParticipantFacts:
    """The participant as the dosing and visit rules see it (read on the driver path)."""

    id: uuid.UUID
    status: str
    date_of_birth: date
    site_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class AllocationFacts:
    arm: str
    day1: date
    randomized_at: datetime


@dataclass(frozen=True, slots=True)
class TreatmentContext:
    """What the dosing and visit rules need to know about one participant, read once."""

    participant: Participant | ParticipantFacts
    allocation: Randomization | AllocationFacts | None
    timezone: ZoneInfo
    outcomes: dict[str, date]
    now: datetime
    completed_on: date | None = None  # the Day 84 visit's date, for a `completed` participant

    @property
    def arm(self) -> str | None:
        return self.allocation.arm if self.allocation else None

    @property
    def day1(self) -> date | None:
        return self.allocation.day1 if self.allocation else None

    @property
    def today(self) -> date:
        """Today's calendar date at the site (study days are site-local dates)."""
        return self.now.astimezone(self.timezone).date()

    @property
    def death_date(self) -> date | None:
        return self.outcomes.get("death")

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.timezone).date()

    def terminal_event(self) -> TerminalEvent | None:
        """The earliest event that ended treatment (an outcome, or completion), if any."""
        events = [TerminalEvent(kind, on) for kind, on in self.outcomes.items()]
        if self.completed_on is not None:
            events.append(TerminalEvent("completed", self.completed_on))
        return min(events, key=lambda e: e.on, default=None)


async def load_context_row(
    db: RequestDb, principal: Principal, participant_id: uuid.UUID
) -> tuple[TreatmentContext, asyncpg.Record]:
    """The context in one locked statement on the driver connection (the hot write paths),
    with the row itself (the visit days and doses already recorded). 404 as `visible`."""
    row = await context_rows.context(
        db.conn, participant_id, visible_site_filter(principal), protocol.FINAL_VISIT_DAY
    )
    if row is None:
        raise NotFound("No such participant")
    participant = ParticipantFacts(row["id"], row["status"], row["date_of_birth"], row["site_id"])
    allocation = None
    if row["arm"] is not None:
        allocation = AllocationFacts(row["arm"], row["day1"], row["randomized_at"])
    outcomes = dict(zip(row["outcome_kinds"] or (), row["outcome_dates"] or (), strict=True))
    ctx = TreatmentContext(
        participant=participant,
        allocation=allocation,
        timezone=ZoneInfo(row["timezone"]),
        outcomes=outcomes,
        now=clock.utc_now(),
        completed_on=row["final_visit_date"] if participant.status == "completed" else None,
    )
    return ctx, row


async def load_context(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, *, lock: bool = False
) -> TreatmentContext:
    """404 for another site's participant; `lock` serializes writes for one participant."""
    participant = await visible(session, principal, participant_id, lock=lock)
    allocation = await randomization_repo.for_participant(session, participant.id)
    zone = await repo.site_timezone(session, participant.site_id)
    completed = participant.status == "completed"
    return TreatmentContext(
        participant=participant,
        allocation=allocation,
        timezone=ZoneInfo(zone),
        outcomes=await repo.outcome_dates(session, participant.id),
        now=clock.utc_now(),
        completed_on=await repo.final_visit_date(session, participant.id) if completed else None,
    )


def _key(kind: str, rule: str, detail: str) -> tuple[str, str, str]:
    return (kind, rule, detail)


async def sync_findings(
    session: AsyncSession,
    principal: Principal,
    *,
    participant_id: uuid.UUID,
    record_table: str,
    record_id: uuid.UUID,
    findings: Sequence[DeviationFinding],
    reason: str | None,
    void_reason: str = "",
) -> list[ProtocolDeviation]:
    """Make the record's live deviations equal to `findings`; return them, oldest first."""
    current = (await repo.deviations_of(session, record_table, [record_id])).get(record_id, [])
    wanted = {_key(f.kind, f.rule, f.detail): f for f in findings}
    kept: list[ProtocolDeviation] = []
    for row in current:
        if _key(row.kind, row.rule, row.detail) in wanted:
            wanted.pop(_key(row.kind, row.rule, row.detail))
            kept.append(row)
        else:
            row.voided_at = clock.utc_now()
            row.void_reason = void_reason or "no longer applies after a correction"
    added = [
        ProtocolDeviation(
            participant_id=participant_id,
            kind=f.kind,
            rule=f.rule,
            detail=f.detail,
            reason=reason or "",
            record_table=record_table,
            record_id=record_id,
            created_by=principal.user_id,
        )
        for f in wanted.values()
    ]
    session.add_all(added)
    await session.flush()
    return kept + added


async def list_deviations(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID | None,
    *,
    kind: str | None,
    include_voided: bool,
    limit: int,
    offset: int,
) -> PageOut[DeviationOut]:
    """Oldest first; site-bound roles see only their own site's participants."""
    rows, total = await repo.list_deviations(
        session,
        site_id=visible_site_filter(principal),
        participant_id=participant_id,
        kind=kind,
        include_voided=include_voided,
        limit=limit,
        offset=offset,
    )
    items = [DeviationOut.model_validate(r) for r in rows]
    return PageOut[DeviationOut](items=items, total=total, limit=limit, offset=offset)
