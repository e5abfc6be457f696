"""The dosing schedule (SPEC §2.4): each dose's window and status, and the next dose.

Windows come from `protocol.DOSE_WINDOWS` (study days, both ends inclusive) and are turned
into site-local dates from Day 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from app.domain import protocol
from app.domain.deviations import NOT_RANDOMIZED_STATUSES, TerminalEvent
from app.domain.dosing import EXOSOME_ARM, DoseRecordView, by_number
from app.domain.study_days import date_of_study_day

# Schedule statuses of a dose.
DUE = "due"
UPCOMING = "upcoming"
OVERDUE = "overdue"
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class ScheduledDose:
    """One protocol dose with its window (dates inclusive) and where it stands."""

    dose_number: int
    target_day: int
    target_date: date
    window_start: date
    window_end: date
    status: str  # given, not_administered, due, upcoming, overdue, not_applicable


@dataclass(frozen=True, slots=True)
class DosingSchedule:
    """Every protocol dose, and the first one still to record (None when none is)."""

    doses: tuple[ScheduledDose, ...]
    next_dose: ScheduledDose | None


def _open_status(window_start: date, window_end: date, today: date) -> str:
    if today < window_start:
        return UPCOMING
    if today <= window_end:
        return DUE
    return OVERDUE


def _scheduled_dose(dose_number: int, day1: date, today: date, status: str | None) -> ScheduledDose:
    window = protocol.DOSE_WINDOWS[dose_number]
    start = date_of_study_day(day1, window.first_day)
    end = date_of_study_day(day1, window.last_day)
    return ScheduledDose(
        dose_number=dose_number,
        target_day=window.target_day,
        target_date=date_of_study_day(day1, window.target_day),
        window_start=start,
        window_end=end,
        status=_open_status(start, end, today) if status is None else status,
    )


def _fixed_status(
    recorded: Mapping[int, DoseRecordView],
    dose_number: int,
    dosable: bool,
    never_due: bool,
) -> str | None:
    """The status that does not depend on today: recorded, or not applicable."""
    if dose_number in recorded:
        return recorded[dose_number].status
    return NOT_APPLICABLE if not dosable or never_due else None


def _opens_after(terminal: TerminalEvent | None, day1: date, dose_number: int) -> bool:
    opens = date_of_study_day(day1, protocol.DOSE_WINDOWS[dose_number].first_day)
    return terminal is not None and opens > terminal.on


def dosing_schedule(
    *,
    arm: str | None,
    participant_status: str,
    day1: date,
    existing: Sequence[DoseRecordView],
    today: date,
    terminal: TerminalEvent | None = None,
) -> DosingSchedule:
    """Each protocol dose with its window and status, plus the next dose to record.

    Statuses: given / not_administered (recorded); not_applicable (not recorded, and the
    participant is not on the exosome arm, or the dose's window opened after a terminal
    event); upcoming (today before the window), due (today inside it), overdue (window
    passed, still not recorded - after a terminal event this means the record of a dose that
    was due is missing: enter it as given or not_administered). The next dose is the first
    unrecorded one that is not not_applicable - because doses are recorded in order, an
    overdue dose stays "next" until it is recorded - and there is none after a terminal event.
    """
    dosable = arm == EXOSOME_ARM and participant_status not in NOT_RANDOMIZED_STATUSES
    recorded = by_number(existing)
    doses = tuple(
        _scheduled_dose(
            n,
            day1,
            today,
            _fixed_status(recorded, n, dosable, _opens_after(terminal, day1, n)),
        )
        for n in sorted(protocol.DOSE_WINDOWS)
    )
    pending = (d for d in doses if d.status in (UPCOMING, DUE, OVERDUE))
    return DosingSchedule(doses=doses, next_dose=None if terminal else next(pending, None))
