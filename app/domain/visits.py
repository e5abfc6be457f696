"""Follow-up visit schedule and the rules for recording a visit (SPEC §2.5).

Windows come from `protocol.VISIT_WINDOWS` (study days, both ends inclusive) and are turned
into dates from Day 1. Baseline is the screening assessment, due within
`protocol.SCREENING_VALID_DAYS` days before randomization (Day 1 itself included).

Status of a follow-up visit on `today`, first rule that applies:

- `completed`: the visit is recorded (whatever its date; an out-of-window visit carries a
  protocol deviation).
- `not_applicable`: not recorded, and the participant reached a terminal status (died,
  liver_transplant, treatment_abandoned, withdrawn, lost_to_follow_up, completed) on or before
  the window's last day - the visit can no longer happen. Without a terminal date the event
  is taken as of `today`.
- `missed`: not recorded and the window closed before today.
- `upcoming`: today is before the window opens.
- `due`: today is inside the window, on or before the target day.
- `overdue`: today is inside the window, after the target day (still recordable in window).

Baseline is `completed` when a screening assessment date is known, otherwise `missed`.

Recording a visit: a participant not randomized, or a visit day already recorded (a
correction is a PATCH), is a 409. A visit day outside the protocol's list, a date in the
future, before Day 1 or after a recorded death is a 422 on the field (a date after death is
invalid data, not a state: the date is what is wrong). A terminal status alone does not refuse
a visit: data up to the terminal event may be entered late. A date outside the window needs a
`deviation_reason` and yields a `visit_out_of_window` finding.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from app.domain import protocol
from app.domain.deviations import (
    NOT_RANDOMIZED_STATUSES,
    TERMINAL_STATUSES,
    DeviationFinding,
    require_reason,
    window_text,
)
from app.domain.errors import FieldError, InvalidData, StateConflict
from app.domain.study_days import date_of_study_day, study_day

COMPLETED = "completed"
UPCOMING = "upcoming"
DUE = "due"
OVERDUE = "overdue"
MISSED = "missed"
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class VisitSlot:
    """One scheduled assessment; `visit_day` and `target_date` are None for baseline."""

    visit_day: int | None
    target_date: date | None
    window_start: date
    window_end: date
    status: str
    visit_date: date | None


def _baseline_slot(day1: date, baseline_date: date | None) -> VisitSlot:
    return VisitSlot(
        visit_day=None,
        target_date=None,
        window_start=day1 - timedelta(days=protocol.SCREENING_VALID_DAYS),
        window_end=day1,
        status=MISSED if baseline_date is None else COMPLETED,
        visit_date=baseline_date,
    )


def _open_status(window: protocol.Window, day1: date, today: date) -> str:
    """Status of an unrecorded visit of a participant still followed up."""
    day = study_day(day1, today)
    if day < window.first_day:
        return UPCOMING
    if day <= window.target_day:
        return DUE
    if day <= window.last_day:
        return OVERDUE
    return MISSED


def _visit_slot(
    visit_day: int, day1: date, visit_date: date | None, ended_on: date | None, today: date
) -> VisitSlot:
    window = protocol.VISIT_WINDOWS[visit_day]
    window_end = date_of_study_day(day1, window.last_day)
    if visit_date is not None:
        status = COMPLETED
    elif ended_on is not None and ended_on <= window_end:
        status = NOT_APPLICABLE
    else:
        status = _open_status(window, day1, today)
    return VisitSlot(
        visit_day=visit_day,
        target_date=date_of_study_day(day1, window.target_day),
        window_start=date_of_study_day(day1, window.first_day),
        window_end=window_end,
        status=status,
        visit_date=visit_date,
    )


def visit_schedule(
    *,
    day1: date,
    recorded: Mapping[int, date],
    participant_status: str,
    terminal_date: date | None,
    today: date,
    baseline_date: date | None = None,
) -> list[VisitSlot]:
    """Baseline, then each protocol visit in day order, with the status defined above."""
    ended_on = None
    if participant_status in TERMINAL_STATUSES:
        ended_on = terminal_date or today
    return [_baseline_slot(day1, baseline_date)] + [
        _visit_slot(day, day1, recorded.get(day), ended_on, today)
        for day in sorted(protocol.VISIT_WINDOWS)
    ]


def _date_errors(
    day1: date, visit_date: date, today: date, death_date: date | None
) -> list[FieldError]:
    errors = []
    if visit_date > today:
        errors.append(FieldError("visit_date", "is in the future"))
    if visit_date < day1:
        errors.append(FieldError("visit_date", f"is before Day 1 ({day1.isoformat()})"))
    if death_date is not None and visit_date > death_date:
        errors.append(
            FieldError("visit_date", f"is after the recorded death ({death_date.isoformat()})")
        )
    return errors


def _window_finding(visit_day: int, day: int, visit_date: date) -> list[DeviationFinding]:
    window = protocol.VISIT_WINDOWS[visit_day]
    if window.contains(day):
        return []
    return [
        DeviationFinding(
            "visit_out_of_window",
            f"the Day {visit_day} visit takes place on {window_text(window)}",
            f"it took place on Day {day} ({visit_date.isoformat()})",
        )
    ]


def check_visit(
    *,
    day1: date,
    visit_day: int,
    visit_date: date,
    today: date,
    recorded_days: Collection[int],
    death_date: date | None,
    deviation_reason: str | None,
    participant_status: str,
) -> list[DeviationFinding]:
    """Decide whether a visit may be recorded; return its protocol deviations (or none)."""
    if participant_status in NOT_RANDOMIZED_STATUSES:
        raise StateConflict("the participant is not randomized; follow-up visits start at Day 1")
    if visit_day not in protocol.VISIT_WINDOWS:
        days = ", ".join(str(d) for d in sorted(protocol.VISIT_WINDOWS))
        raise InvalidData.one("visit_day", f"must be one of {days}")
    if visit_day in recorded_days:
        raise StateConflict(f"the Day {visit_day} visit is already recorded; correct it instead")
    errors = _date_errors(day1, visit_date, today, death_date)
    if errors:
        raise InvalidData(errors)
    findings = _window_finding(visit_day, study_day(day1, visit_date), visit_date)
    require_reason(findings, deviation_reason)
    return findings
