"""Follow-up visit schedule and the rules for recording a visit (SPEC §2.2, §2.5).

Windows come from `protocol.VISIT_WINDOWS` (study days, both ends inclusive) and are turned
into dates from Day 1. Baseline is the screening assessment, due within
`protocol.SCREENING_VALID_DAYS` days before randomization (Day 1 itself included).

Follow-up ends, visit by visit (`follow_up_end`): a death, a withdrawal or a loss to follow-up
ends every visit; a liver transplant or a treatment abandonment ends the clinical visits
(Days 4, 7, 10, 13) but NOT the survival contacts (`protocol.SURVIVAL_CONTACT_VISIT_DAYS`,
Days 28 and 84), which stay in the schedule so that survival is still followed.

Status of a follow-up visit on `today`, first rule that applies:

- `completed`: the visit is recorded (whatever its date; an out-of-window visit carries a
  protocol deviation).
- `not_applicable`: not recorded, and follow-up for this visit ended on or before the
  window's last day - the visit can no longer happen.
- `missed`: not recorded and the window closed before today.
- `upcoming`: today is before the window opens.
- `due`: today is inside the window, on or before the target day.
- `overdue`: today is inside the window, after the target day (still recordable in window).

Baseline is `completed` when a screening assessment date is known, otherwise `missed`.

Recording a visit (`check_visit`), in this order:
- 409: not randomized; the visit day already recorded (a correction is a PATCH); vital
  status `dead` while no death outcome is recorded (record the death first: the endpoints
  take deaths from outcomes only); a visit dated after a withdrawal; a clinical visit (not a
  survival contact) dated after a liver transplant or treatment abandonment.
- 422 on the field: a visit day outside the protocol's list; a date in the future or before
  Day 1; vital status `alive` on a date after the recorded death; vital status `dead` on a
  date before it; a `dead` visit carrying assessments (labs, HE grade, ascites, symptoms: it
  records vital status only).
- A terminal status alone does not refuse a visit: data up to the event may be entered late,
  and a participant lost to follow-up who is seen again is simply recorded (survival uses the
  latest sign of life). A visit may carry only `visit_day`, `visit_date` and `vital_status`.
- A date outside the window needs a `deviation_reason` and yields a `visit_out_of_window`
  finding.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from app.domain import protocol
from app.domain.deviations import (
    NOT_RANDOMIZED_STATUSES,
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

ALIVE = "alive"
DEAD = "dead"
# Outcomes that end every visit, and those that end only the clinical (non-contact) visits.
ENDS_EVERY_VISIT: tuple[str, ...] = ("death", "withdrawn", "lost_to_follow_up")
ENDS_CLINICAL_VISITS: tuple[str, ...] = ("liver_transplant", "treatment_abandoned")
ASSESSMENT_FIELDS: tuple[str, ...] = ("labs", "he_grade", "ascites", "symptoms")


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


def follow_up_end(visit_day: int, outcomes: Mapping[str, date]) -> date | None:
    """When follow-up ended for this visit: the earliest outcome that ends it, if any."""
    kinds = ENDS_EVERY_VISIT
    if visit_day not in protocol.SURVIVAL_CONTACT_VISIT_DAYS:
        kinds += ENDS_CLINICAL_VISITS
    return min((outcomes[k] for k in kinds if k in outcomes), default=None)


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
    outcomes: Mapping[str, date],
    today: date,
    baseline_date: date | None = None,
) -> list[VisitSlot]:
    """Baseline, then each protocol visit in day order, with the status defined above.

    `outcomes` maps each recorded outcome type to its (earliest) date.
    """
    return [_baseline_slot(day1, baseline_date)] + [
        _visit_slot(day, day1, recorded.get(day), follow_up_end(day, outcomes), today)
        for day in sorted(protocol.VISIT_WINDOWS)
    ]


def _date_errors(
    day1: date, visit_date: date, today: date, death_date: date | None, vital_status: str
) -> list[FieldError]:
    errors = []
    if visit_date > today:
        errors.append(FieldError("visit_date", "is in the future"))
    if visit_date < day1:
        errors.append(FieldError("visit_date", f"is before Day 1 ({day1.isoformat()})"))
    if death_date is None:
        return errors
    if vital_status == ALIVE and visit_date > death_date:
        errors.append(
            FieldError("visit_date", f"is after the recorded death ({death_date.isoformat()})")
        )
    if vital_status == DEAD and visit_date < death_date:
        errors.append(
            FieldError(
                "visit_date",
                f"finds the participant dead before the recorded death ({death_date.isoformat()})",
            )
        )
    return errors


def _dead_visit_errors(vital_status: str, assessments: Collection[str]) -> list[FieldError]:
    """A visit that finds the participant dead records vital status, nothing clinical."""
    if vital_status != DEAD:
        return []
    return [
        FieldError(name, "must be absent when vital_status is dead")
        for name in ASSESSMENT_FIELDS
        if name in assessments
    ]


def _refuse_after_follow_up(visit_day: int, visit_date: date, outcomes: Mapping[str, date]) -> None:
    """No visit after a withdrawal; only survival contacts after a transplant/abandonment."""
    withdrawn = outcomes.get("withdrawn")
    if withdrawn is not None and visit_date > withdrawn:
        raise StateConflict(
            f"the participant withdrew on {withdrawn.isoformat()}; no visit is recorded after it"
        )
    if visit_day in protocol.SURVIVAL_CONTACT_VISIT_DAYS:
        return
    for kind in ENDS_CLINICAL_VISITS:
        ended = outcomes.get(kind)
        if ended is not None and visit_date > ended:
            contacts = " and ".join(f"Day {d}" for d in protocol.SURVIVAL_CONTACT_VISIT_DAYS)
            raise StateConflict(
                f"after the {kind.replace('_', ' ')} on {ended.isoformat()} only the {contacts}"
                " vital-status contacts remain"
            )


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
    outcomes: Mapping[str, date],
    vital_status: str,
    assessments: Collection[str],
    deviation_reason: str | None,
    participant_status: str,
) -> list[DeviationFinding]:
    """Decide whether a visit may be recorded; return its protocol deviations (or none).

    `outcomes` maps each recorded outcome type to its date; `assessments` names the clinical
    fields the visit carries (of `ASSESSMENT_FIELDS`).
    """
    if participant_status in NOT_RANDOMIZED_STATUSES:
        raise StateConflict("the participant is not randomized; follow-up visits start at Day 1")
    if visit_day not in protocol.VISIT_WINDOWS:
        days = ", ".join(str(d) for d in sorted(protocol.VISIT_WINDOWS))
        raise InvalidData.one("visit_day", f"must be one of {days}")
    if visit_day in recorded_days:
        raise StateConflict(f"the Day {visit_day} visit is already recorded; correct it instead")
    death_date = outcomes.get("death")
    if vital_status == DEAD and death_date is None:
        raise StateConflict(
            "vital status 'dead' needs the participant's death recorded first "
            "(POST .../outcomes type=death): the endpoints take deaths from outcomes"
        )
    errors = _date_errors(day1, visit_date, today, death_date, vital_status)
    errors += _dead_visit_errors(vital_status, assessments)
    if errors:
        raise InvalidData(errors)
    _refuse_after_follow_up(visit_day, visit_date, outcomes)
    findings = _window_finding(visit_day, study_day(day1, visit_date), visit_date)
    require_reason(findings, deviation_reason)
    return findings
