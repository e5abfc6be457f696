"""Study-drug administration rules (SPEC §2.4): what may be recorded, and what is next.

Checks run in this order, so the answer names the most fundamental problem first:

1. Hard refusals (`StateConflict`, 409): the participant is not randomized or is in the
   control arm; the dose number is above the protocol's 4 ("a 5th dose"); the dose number is
   already recorded, as given or as not_administered (a correction is a PATCH, not a second
   POST); or an earlier dose number is not recorded yet. Doses are recorded in order - every
   earlier dose as given or not_administered - so "the next dose" and "the previous dose" are
   always well defined. After a terminal event (`TerminalEvent`: death, liver transplant,
   treatment abandonment, withdrawal, loss to follow-up, or the Day 84 visit that completed
   follow-up) a dose may still be entered late, but none may START after the event's date
   (SPEC §2.2, amended): a dose given on Day 1 and typed in after a death on Day 2 is
   accepted, a dose starting on Day 4 is not. A dose not administered is refused when its
   window opened after the event (it was never due).
2. Bad data (`InvalidData`, 422, one error per field): dose_number below 1, a naive
   timestamp, `ended_at <= started_at`, a start or end in the future, non-positive particles
   or volume, a start before Day 1, a start or end after a recorded death, a start before the
   previous given dose ended.
3. Off-protocol findings (each a `DeviationFinding`): start outside the dose's study-day
   window (dose 1: Day 1 only; doses 2-4: Day 4, 7, 10 +/- 1), an infusion shorter than the
   minimum duration, a particle count or volume outside the protocol dose +/- the tolerance
   (`protocol.DOSE_AMOUNT_TOLERANCE`, both ends on protocol), or a start less
   than the minimum interval after the previous *given* dose's start (a not_administered dose
   has no start and is skipped). Without a `deviation_reason` the findings are refused (422 on
   `deviation_reason`, one error per finding); with one they are returned, and the service
   records one protocol deviation per finding.

Study day of a dose = study day of the calendar date of `started_at` in `site_timezone`,
default UTC (we store UTC; pass the site's zone when Day 1 is also the site-local date, so both
sides of the subtraction use the same calendar).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from app.domain import protocol
from app.domain.deviations import (
    NOT_RANDOMIZED_STATUSES,
    DeviationFinding,
    TerminalEvent,
    has_reason,
    require_reason,
    window_text,
)
from app.domain.errors import FieldError, InvalidData, StateConflict
from app.domain.study_days import date_of_study_day, study_day

GIVEN = "given"
NOT_ADMINISTERED = "not_administered"
EXOSOME_ARM = protocol.ARMS[1]


@dataclass(frozen=True, slots=True)
class DoseRecordView:
    """An existing (non-voided) dose record, as the rules need to see it."""

    dose_number: int
    status: str  # GIVEN or NOT_ADMINISTERED
    started_at: datetime | None = None
    ended_at: datetime | None = None


# --- hard refusals ----------------------------------------------------------------------------


def _refuse_participant(arm: str | None, participant_status: str) -> None:
    """Only a randomized, exosome-arm participant can be dosed."""
    if arm is None or participant_status in NOT_RANDOMIZED_STATUSES:
        raise StateConflict("the participant is not randomized; no dose can be recorded")
    if arm != EXOSOME_ARM:
        raise StateConflict(f"the participant is in the {arm} arm, which receives no study drug")


def _refuse_start_after(terminal: TerminalEvent | None, dose_number: int, start: date) -> None:
    """Late entry is fine; a dose starting after the terminal event's date is not."""
    if terminal is not None and start > terminal.on:
        raise StateConflict(
            f"no dose may start after the participant's {terminal.label} on "
            f"{terminal.on.isoformat()}; dose {dose_number} would start on {start.isoformat()}"
        )


def _refuse_never_due(terminal: TerminalEvent | None, day1: date, dose_number: int) -> None:
    """A dose whose window opened after the terminal event was never due."""
    opens = date_of_study_day(day1, protocol.DOSE_WINDOWS[dose_number].first_day)
    if terminal is not None and opens > terminal.on:
        raise StateConflict(
            f"dose {dose_number}'s window opens on {opens.isoformat()}, after the participant's"
            f" {terminal.label} on {terminal.on.isoformat()}: it was never due"
        )


def _refuse_dose_number(existing: Sequence[DoseRecordView], dose_number: int) -> None:
    """Dose numbers run 1..DOSE_COUNT, each recorded once and in order."""
    if dose_number < 1:
        raise InvalidData.one("dose_number", f"must be 1 to {protocol.DOSE_COUNT}")
    if dose_number > protocol.DOSE_COUNT:
        raise StateConflict(
            f"the protocol has {protocol.DOSE_COUNT} doses; dose {dose_number} cannot be given"
        )
    recorded = by_number(existing)
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


def by_number(existing: Sequence[DoseRecordView]) -> dict[int, DoseRecordView]:
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


def within_tolerance(amount: Decimal, target: Decimal) -> bool:
    """Within target +/- DOSE_AMOUNT_TOLERANCE, both ends included (exact decimals)."""
    margin = target * protocol.DOSE_AMOUNT_TOLERANCE
    return target - margin <= amount <= target + margin


def _amount_findings(particles: int, volume_ml: Decimal) -> list[DeviationFinding]:
    findings = []
    tolerance = f"+/- {protocol.DOSE_AMOUNT_TOLERANCE * 100:g}%"
    if not within_tolerance(Decimal(particles), Decimal(protocol.DOSE_PARTICLES)):
        findings.append(
            DeviationFinding(
                "wrong_particle_count",
                f"a dose is {protocol.DOSE_PARTICLES:.3g} particles {tolerance}",
                f"{particles:.3g} particles were given",
            )
        )
    if not within_tolerance(volume_ml, protocol.DOSE_VOLUME_ML):
        findings.append(
            DeviationFinding(
                "wrong_volume",
                f"a dose is diluted in {protocol.DOSE_VOLUME_ML} mL of normal saline {tolerance}",
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
    terminal: TerminalEvent | None = None,
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
    _refuse_start_after(terminal, dose_number, start_date)
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
    day1: date,
    existing: Sequence[DoseRecordView],
    dose_number: int,
    reason: str | None,
    terminal: TerminalEvent | None = None,
) -> None:
    """A dose not given is recorded with why; later doses stay allowed.

    Same hard refusals as `check_dose` (a dose never due after a terminal event is 409); a
    blank reason is refused (422 on `reason`).
    """
    _refuse(arm, participant_status, existing, dose_number)
    _refuse_never_due(terminal, day1, dose_number)
    if not has_reason(reason):
        raise InvalidData.one("reason", "is required: say why the dose was not administered")
