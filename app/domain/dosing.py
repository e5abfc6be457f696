"""Study-drug administration rules (SPEC §2.4): what may be recorded, and what is next.

Checks run in this order, so the answer names the most fundamental problem first:

1. Hard refusals (`StateConflict`, 409): the participant is not randomized, is in the control
   arm, or is in a terminal status (died, liver_transplant, treatment_abandoned, withdrawn,
   lost_to_follow_up, completed); the dose number is above the protocol's 4 ("a 5th dose");
   the dose number is already recorded, as given or as not_administered (a correction is a
   PATCH, not a second POST); or an earlier dose number is not recorded yet. Doses are
   recorded in order - every earlier dose as given or not_administered - so "the next dose"
   and "the previous dose" are always well defined.
2. Bad data (`InvalidData`, 422, one error per field): dose_number below 1, a naive
   timestamp, `ended_at <= started_at`, a start or end in the future, non-positive particles
   or volume, a start before Day 1, a start or end after a recorded death, a start before the
   previous given dose ended.
3. Off-protocol findings (each a `DeviationFinding`): start outside the dose's study-day
   window (dose 1: Day 1 only; doses 2-4: Day 4, 7, 10 +/- 1), an infusion shorter than the
   minimum duration, a particle count or volume other than the protocol dose, or a start less
   than the minimum interval after the previous *given* dose's start (a not_administered dose
   has no start and is skipped). Without a `deviation_reason` the findings are refused (422 on
   `deviation_reason`, one error per finding); with one they are returned, and the service
   records one protocol deviation per finding.

Study day of a dose = study day of the calendar date of `started_at` in `site_timezone`,
default UTC (we store UTC; pass the site's zone when Day 1 is also the site-local date, so both
sides of the subtraction use the same calendar).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from app.domain import protocol
from app.domain.deviations import (
    NOT_RANDOMIZED_STATUSES,
    TERMINAL_STATUSES,
    DeviationFinding,
    has_reason,
    require_reason,
    window_text,
)
from app.domain.errors import FieldError, InvalidData, StateConflict
from app.domain.study_days import date_of_study_day, study_day

GIVEN = "given"
NOT_ADMINISTERED = "not_administered"
EXOSOME_ARM = protocol.ARMS[1]

# Schedule statuses of a dose.
DUE = "due"
UPCOMING = "upcoming"
OVERDUE = "overdue"
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class DoseRecordView:
    """An existing (non-voided) dose record, as the rules need to see it."""

    dose_number: int
    status: str  # GIVEN or NOT_ADMINISTERED
    started_at: datetime | None = None
    ended_at: datetime | None = None


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


# --- hard refusals ----------------------------------------------------------------------------


def _refuse_participant(arm: str | None, participant_status: str) -> None:
    """Only a randomized, exosome-arm participant still on treatment can be dosed."""
    if arm is None or participant_status in NOT_RANDOMIZED_STATUSES:
        raise StateConflict("the participant is not randomized; no dose can be recorded")
    if arm != EXOSOME_ARM:
        raise StateConflict(f"the participant is in the {arm} arm, which receives no study drug")
    if participant_status in TERMINAL_STATUSES:
        raise StateConflict(
            f"the participant's status is {participant_status}; no further dosing is allowed"
        )


def _refuse_dose_number(existing: Sequence[DoseRecordView], dose_number: int) -> None:
    """Dose numbers run 1..DOSE_COUNT, each recorded once and in order."""
    if dose_number < 1:
        raise InvalidData.one("dose_number", f"must be 1 to {protocol.DOSE_COUNT}")
    if dose_number > protocol.DOSE_COUNT:
        raise StateConflict(
            f"the protocol has {protocol.DOSE_COUNT} doses; dose {dose_number} cannot be given"
        )
    recorded = _by_number(existing)
    if dose_number in recorded:
        status = recorded[dose_number].status
        raise StateConflict(
            f"dose {dose_number} is already recorded as {status}; correct it instead"
        )
    missing = [n for n in range(1, dose_number) if n not in recorded]
    if missing:
        raise StateConflict(
            f"record dose(s) {missing} (given or not_administered) before dose {dose_number}"
        )


def _refuse(
    arm: str | None, participant_status: str, existing: Sequence[DoseRecordView], dose_number: int
) -> None:
    _refuse_participant(arm, participant_status)
    _refuse_dose_number(existing, dose_number)


def _by_number(existing: Sequence[DoseRecordView]) -> dict[int, DoseRecordView]:
    return {d.dose_number: d for d in existing}


def _previous_given(existing: Sequence[DoseRecordView], dose_number: int) -> DoseRecordView | None:
    """The latest given dose before `dose_number` that has a start time."""
    given = [
        d
        for d in existing
        if d.status == GIVEN and d.dose_number < dose_number and d.started_at is not None
    ]
    return max(given, key=lambda d: d.dose_number, default=None)


# --- bad data -----------------------------------------------------------------------------------


def _naive_errors(started_at: datetime, ended_at: datetime) -> list[FieldError]:
    return [
        FieldError(name, "must carry a timezone (UTC)")
        for name, value in (("started_at", started_at), ("ended_at", ended_at))
        if value.tzinfo is None or value.utcoffset() is None
    ]


def _time_errors(started_at: datetime, ended_at: datetime, now: datetime) -> list[FieldError]:
    errors = []
    if ended_at <= started_at:
        errors.append(FieldError("ended_at", "must be after started_at"))
    if started_at > now:
        errors.append(FieldError("started_at", "is in the future"))
    if ended_at > now:
        errors.append(FieldError("ended_at", "is in the future; record a dose once it has ended"))
    return errors


def _amount_errors(particles: int, volume_ml: Decimal) -> list[FieldError]:
    errors = []
    if particles <= 0:
        errors.append(FieldError("particles", "must be positive"))
    if not volume_ml.is_finite() or volume_ml <= 0:
        errors.append(FieldError("volume_ml", "must be a positive number"))
    return errors


def _calendar_errors(
    day1: date, start_date: date, end_date: date, death_date: date | None
) -> list[FieldError]:
    errors = []
    if start_date < day1:
        errors.append(FieldError("started_at", f"is before Day 1 ({day1.isoformat()})"))
    if death_date is not None:
        for name, value in (("started_at", start_date), ("ended_at", end_date)):
            if value > death_date:
                errors.append(
                    FieldError(name, f"is after the recorded death ({death_date.isoformat()})")
                )
    return errors


def _overlap_errors(previous: DoseRecordView | None, started_at: datetime) -> list[FieldError]:
    if previous is None or previous.ended_at is None or started_at >= previous.ended_at:
        return []
    return [
        FieldError(
            "started_at",
            f"is before dose {previous.dose_number} ended ({previous.ended_at.isoformat()})",
        )
    ]


# --- findings -----------------------------------------------------------------------------------


def _window_finding(dose_number: int, day: int, start_date: date) -> list[DeviationFinding]:
    window = protocol.DOSE_WINDOWS[dose_number]
    if window.contains(day):
        return []
    return [
        DeviationFinding(
            "dose_out_of_window",
            f"dose {dose_number} is given on {window_text(window)}",
            f"it started on Day {day} ({start_date.isoformat()})",
        )
    ]


def _duration_finding(duration: timedelta) -> list[DeviationFinding]:
    minimum = protocol.MIN_INFUSION_DURATION
    if duration >= minimum:
        return []
    return [
        DeviationFinding(
            "short_infusion",
            f"the infusion lasts at least {_minutes(minimum)} minutes",
            f"it lasted {_minutes(duration)} minutes",
        )
    ]


def _amount_findings(particles: int, volume_ml: Decimal) -> list[DeviationFinding]:
    findings = []
    if particles != protocol.DOSE_PARTICLES:
        findings.append(
            DeviationFinding(
                "wrong_particle_count",
                f"a dose is {protocol.DOSE_PARTICLES:.3g} particles",
                f"{particles:.3g} particles were given",
            )
        )
    if volume_ml != protocol.DOSE_VOLUME_ML:
        findings.append(
            DeviationFinding(
                "wrong_volume",
                f"a dose is diluted in {protocol.DOSE_VOLUME_ML} mL of normal saline",
                f"{volume_ml} mL were given",
            )
        )
    return findings


def _interval_finding(
    previous: DoseRecordView | None, started_at: datetime
) -> list[DeviationFinding]:
    if previous is None or previous.started_at is None:
        return []
    interval = started_at - previous.started_at
    minimum = protocol.MIN_INTERVAL_BETWEEN_DOSES
    if interval >= minimum:
        return []
    return [
        DeviationFinding(
            "short_dose_interval",
            f"a dose starts at least {_hours(minimum)} hours after the previous dose's start",
            f"it started {_hours(interval)} hours after dose {previous.dose_number}",
        )
    ]


def _minutes(duration: timedelta) -> str:
    return f"{duration.total_seconds() / 60:g}"


def _hours(duration: timedelta) -> str:
    return f"{duration.total_seconds() / 3600:g}"


# --- public checks --------------------------------------------------------------------------


def check_dose(
    *,
    arm: str | None,
    participant_status: str,
    day1: date,
    existing: Sequence[DoseRecordView],
    dose_number: int,
    started_at: datetime,
    ended_at: datetime,
    particles: int,
    volume_ml: Decimal,
    now: datetime,
    deviation_reason: str | None,
    death_date: date | None,
    site_timezone: tzinfo = UTC,
) -> list[DeviationFinding]:
    """Decide whether a given dose may be recorded; return its protocol deviations.

    Raises StateConflict or InvalidData as the module docstring lists. An empty list means
    the dose is on protocol (a deviation_reason sent with it is then ignored).
    """
    _refuse(arm, participant_status, existing, dose_number)
    naive = _naive_errors(started_at, ended_at)
    if naive:
        raise InvalidData(naive)
    start_date = started_at.astimezone(site_timezone).date()
    end_date = ended_at.astimezone(site_timezone).date()
    previous = _previous_given(existing, dose_number)
    errors = (
        _time_errors(started_at, ended_at, now)
        + _amount_errors(particles, volume_ml)
        + _calendar_errors(day1, start_date, end_date, death_date)
        + _overlap_errors(previous, started_at)
    )
    if errors:
        raise InvalidData(errors)
    findings = (
        _window_finding(dose_number, study_day(day1, start_date), start_date)
        + _duration_finding(ended_at - started_at)
        + _amount_findings(particles, volume_ml)
        + _interval_finding(previous, started_at)
    )
    require_reason(findings, deviation_reason)
    return findings


def check_not_administered(
    *,
    arm: str | None,
    participant_status: str,
    existing: Sequence[DoseRecordView],
    dose_number: int,
    reason: str | None,
) -> None:
    """A dose not given is recorded with why; later doses stay allowed.

    Same hard refusals as `check_dose`; a blank reason is refused (422 on `reason`).
    """
    _refuse(arm, participant_status, existing, dose_number)
    if not has_reason(reason):
        raise InvalidData.one("reason", "is required: say why the dose was not administered")


# --- schedule -----------------------------------------------------------------------------------


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
    recorded: Mapping[int, DoseRecordView], dose_number: int, dosable: bool
) -> str | None:
    """The status that does not depend on today: recorded, or not applicable."""
    if dose_number in recorded:
        return recorded[dose_number].status
    return None if dosable else NOT_APPLICABLE


def dosing_schedule(
    *,
    arm: str | None,
    participant_status: str,
    day1: date,
    existing: Sequence[DoseRecordView],
    today: date,
) -> DosingSchedule:
    """Each protocol dose with its window and status, plus the next dose to record.

    Statuses: given / not_administered (recorded); not_applicable (not recorded, and the
    participant is not on the exosome arm or is in a terminal status); upcoming (today before
    the window), due (today inside it), overdue (window passed, still not recorded). The next
    dose is the first unrecorded one that is not not_applicable - because doses are recorded
    in order, an overdue dose stays "next" until it is recorded as given (with a deviation
    reason) or not_administered.
    """
    dosable = (
        arm == EXOSOME_ARM
        and participant_status not in TERMINAL_STATUSES
        and participant_status not in NOT_RANDOMIZED_STATUSES
    )
    recorded = _by_number(existing)
    doses = tuple(
        _scheduled_dose(n, day1, today, _fixed_status(recorded, n, dosable))
        for n in sorted(protocol.DOSE_WINDOWS)
    )
    pending = (d for d in doses if d.status in (UPCOMING, DUE, OVERDUE))
    return DosingSchedule(doses=doses, next_dose=next(pending, None))
