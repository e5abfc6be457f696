"""Dosing rules (SPEC §2.4) on a frozen clock: refusals, bad data, deviations, schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from app.domain import protocol
from app.domain.deviations import DeviationFinding, TerminalEvent
from app.domain.dosing import (
    DoseRecordView,
    check_dose,
    check_not_administered,
    within_tolerance,
)
from app.domain.dosing_schedule import dosing_schedule
from app.domain.errors import InvalidData, StateConflict
from app.domain.study_days import date_of_study_day

DAY1 = date(2025, 3, 1)
NOW = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
TWO_HOURS = protocol.MIN_INFUSION_DURATION


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A UTC time on a study day."""
    d = date_of_study_day(DAY1, day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def given(n: int, day: int, hour: int = 9) -> DoseRecordView:
    start = at(day, hour)
    return DoseRecordView(n, "given", start, start + TWO_HOURS)


def history(upto: int) -> list[DoseRecordView]:
    """Doses 1..upto given on their target days."""
    return [given(n, protocol.DOSE_WINDOWS[n].target_day) for n in range(1, upto + 1)]


def dose(**overrides: Any) -> list[DeviationFinding]:
    """check_dose with an on-protocol dose 2 on Day 4, overridable field by field."""
    args: dict[str, Any] = {
        "arm": "exosome",
        "participant_status": "randomized",
        "day1": DAY1,
        "existing": history(1),
        "dose_number": 2,
        "started_at": at(4),
        "ended_at": at(4) + TWO_HOURS,
        "particles": protocol.DOSE_PARTICLES,
        "volume_ml": protocol.DOSE_VOLUME_ML,
        "now": NOW,
        "deviation_reason": None,
        "death_date": None,
    }
    args.update(overrides)
    if "started_at" in overrides and "ended_at" not in overrides:
        args["ended_at"] = args["started_at"] + TWO_HOURS
    return check_dose(**args)


def kinds(findings: Sequence[DeviationFinding]) -> list[str]:
    return [f.kind for f in findings]


def fields_of(exc: pytest.ExceptionInfo[InvalidData]) -> list[str]:
    return [e.field for e in exc.value.errors]


# --- on protocol / windows -----------------------------------------------------------------


def test_on_protocol_dose_has_no_findings() -> None:
    assert dose() == []


@pytest.mark.parametrize("day", [3, 4, 5])
def test_dose_2_inside_window(day: int) -> None:
    assert dose(started_at=at(day, 12)) == []


@pytest.mark.parametrize(
    ("day", "expected"),
    [(2, ["dose_out_of_window", "short_dose_interval"]), (6, ["dose_out_of_window"])],
)
def test_dose_2_outside_window_needs_a_reason(day: int, expected: list[str]) -> None:
    with pytest.raises(InvalidData) as exc:
        dose(started_at=at(day, 12))
    assert fields_of(exc) == ["deviation_reason"] * len(expected)
    assert "deviation_reason is required" in exc.value.errors[0].message
    assert "Day 4 (Days 3 to 5)" in exc.value.errors[0].message
    assert kinds(dose(started_at=at(day, 12), deviation_reason="ward closed")) == expected


def test_dose_1_on_day_2_is_a_deviation() -> None:
    args = {"existing": [], "dose_number": 1, "started_at": at(2)}
    with pytest.raises(InvalidData):
        dose(**args)
    assert kinds(dose(**args, deviation_reason="product arrived late")) == ["dose_out_of_window"]
    assert dose(existing=[], dose_number=1, started_at=at(1)) == []


def test_blank_reason_is_no_reason() -> None:
    with pytest.raises(InvalidData):
        dose(started_at=at(6), deviation_reason="   ")


def test_study_day_uses_the_utc_date_by_default() -> None:
    late_evening_day5 = at(5, 23, 30)  # Day 6 07:30 in Guangzhou
    assert dose(started_at=late_evening_day5) == []
    shanghai = timezone(timedelta(hours=8))
    with pytest.raises(InvalidData):
        dose(started_at=late_evening_day5, site_timezone=shanghai)


# --- infusion, amounts, interval ---------------------------------------------------------------


def test_119_minutes_is_short_120_is_not() -> None:
    assert dose(ended_at=at(4) + timedelta(minutes=120)) == []
    with pytest.raises(InvalidData):
        dose(ended_at=at(4) + timedelta(minutes=119))
    found = dose(ended_at=at(4) + timedelta(minutes=119), deviation_reason="line occluded")
    assert kinds(found) == ["short_infusion"]
    assert "119 minutes" in found[0].detail


def test_wrong_particles_and_volume_are_findings() -> None:
    found = dose(particles=10**11, volume_ml=Decimal("50"), deviation_reason="partial vial")
    assert kinds(found) == ["wrong_particle_count", "wrong_volume"]
    assert dose(volume_ml=Decimal("100.0")) == []


@pytest.mark.parametrize(
    ("particles", "volume", "expected"),
    [
        (198_000_000_000, "95", []),  # measured, within +/-10%: on protocol (review item 11)
        (180_000_000_000, "90", []),  # the lower edges are on protocol
        (220_000_000_000, "110", []),  # and so are the upper ones
        (179_999_999_999, "100", ["wrong_particle_count"]),
        (220_000_000_001, "110.01", ["wrong_particle_count", "wrong_volume"]),
        (2 * 10**12, "100", ["wrong_particle_count"]),  # tenfold
    ],
)
def test_amount_tolerance(particles: int, volume: str, expected: list[str]) -> None:
    found = dose(particles=particles, volume_ml=Decimal(volume), deviation_reason="measured")
    assert kinds(found) == expected


def test_tolerance_is_exact_in_decimals() -> None:
    assert within_tolerance(Decimal("110.00"), protocol.DOSE_VOLUME_ML)
    assert not within_tolerance(Decimal("89.99"), protocol.DOSE_VOLUME_ML)


def test_every_finding_is_its_own_error_without_reason() -> None:
    with pytest.raises(InvalidData) as exc:
        dose(started_at=at(6), ended_at=at(6) + timedelta(minutes=90), particles=10**11)
    assert fields_of(exc) == ["deviation_reason"] * 3


def test_47_hours_after_previous_start_is_short_48_is_not() -> None:
    existing = [given(1, 1), given(2, 4, hour=9)]
    assert dose(existing=existing, dose_number=3, started_at=at(6, 9)) == []
    found = dose(
        existing=existing, dose_number=3, started_at=at(6, 8), deviation_reason="bed capacity"
    )
    assert kinds(found) == ["short_dose_interval"]
    assert "47 hours" in found[0].detail


def test_interval_skips_a_dose_not_administered() -> None:
    existing = [given(1, 1), DoseRecordView(2, "not_administered")]
    assert dose(existing=existing, dose_number=3, started_at=at(7)) == []


# --- hard refusals (409) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"arm": None, "participant_status": "eligible"}, "not randomized"),
        ({"arm": "control"}, "control arm"),
        ({"terminal": TerminalEvent("death", date_of_study_day(DAY1, 3))}, "death"),
        ({"terminal": TerminalEvent("withdrawn", date_of_study_day(DAY1, 2))}, "withdrawn"),
        ({"terminal": TerminalEvent("liver_transplant", DAY1)}, "liver transplant"),
        ({"existing": history(4), "dose_number": 5, "started_at": at(13)}, "4 doses"),
        ({"existing": history(2)}, "already recorded"),
        (
            {"existing": [DoseRecordView(1, "given"), DoseRecordView(2, "not_administered")]},
            "as not_administered",
        ),
        ({"existing": [], "dose_number": 3, "started_at": at(7)}, "[1, 2]"),
    ],
)
def test_state_conflicts(overrides: dict[str, Any], text: str) -> None:
    with pytest.raises(StateConflict) as exc:
        dose(**overrides)
    assert text in exc.value.detail


@pytest.mark.parametrize(
    "kind",
    ["death", "liver_transplant", "treatment_abandoned", "withdrawn", "lost_to_follow_up"],
)
def test_a_dose_before_a_terminal_event_may_be_entered_after_it(kind: str) -> None:
    """Review item 4: refuse only doses that START after the event's date."""
    on_day4 = TerminalEvent(kind, date_of_study_day(DAY1, 4))
    assert dose(participant_status="died", terminal=on_day4) == []  # dose 2 starts on Day 4
    with pytest.raises(StateConflict):
        dose(started_at=at(5), terminal=on_day4)


def test_completion_allows_late_entry_of_earlier_doses() -> None:
    completed = TerminalEvent("completed", date_of_study_day(DAY1, 84))
    assert dose(participant_status="completed", terminal=completed) == []


def test_dose_number_zero_is_invalid() -> None:
    with pytest.raises(InvalidData) as exc:
        dose(dose_number=0)
    assert fields_of(exc) == ["dose_number"]


# --- bad data (422) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"ended_at": at(4)}, ["ended_at"]),
        ({"ended_at": at(4) - timedelta(minutes=1)}, ["ended_at"]),
        ({"started_at": NOW + timedelta(minutes=1)}, ["started_at", "ended_at"]),
        ({"ended_at": NOW + timedelta(minutes=1)}, ["ended_at"]),
        ({"particles": 0}, ["particles"]),
        ({"particles": -1}, ["particles"]),
        ({"volume_ml": Decimal("0")}, ["volume_ml"]),
        ({"volume_ml": Decimal("NaN")}, ["volume_ml"]),
        ({"death_date": date_of_study_day(DAY1, 3)}, ["started_at", "ended_at"]),
        ({"existing": [], "dose_number": 1, "started_at": at(0)}, ["started_at"]),
        ({"started_at": at(4).replace(tzinfo=None)}, ["started_at", "ended_at"]),
    ],
)
def test_invalid_data(overrides: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(InvalidData) as exc:
        dose(**overrides)
    assert fields_of(exc) == fields


def test_start_before_previous_dose_ended_is_invalid() -> None:
    existing = [given(1, 1, hour=9)]
    with pytest.raises(InvalidData) as exc:
        dose(existing=existing, started_at=at(1, 10), deviation_reason="x")
    assert fields_of(exc) == ["started_at"]


def test_death_on_the_dose_day_is_allowed() -> None:
    assert dose(death_date=date_of_study_day(DAY1, 4)) == []


# --- not administered ----------------------------------------------------------------------------


def test_not_administered_needs_a_reason() -> None:
    args: dict[str, Any] = {
        "arm": "exosome",
        "participant_status": "randomized",
        "day1": DAY1,
        "existing": history(1),
        "dose_number": 2,
    }
    check_not_administered(**args, reason="grade 3 AE, investigator paused dosing")
    for reason in (None, "", "  "):
        with pytest.raises(InvalidData) as exc:
            check_not_administered(**args, reason=reason)
        assert fields_of(exc) == ["reason"]
    with pytest.raises(StateConflict):
        check_not_administered(**{**args, "arm": "control"}, reason="x")
    with pytest.raises(StateConflict):
        check_not_administered(**{**args, "dose_number": 1}, reason="x")


def test_not_administered_only_for_a_dose_that_was_due() -> None:
    args: dict[str, Any] = {
        "arm": "exosome",
        "participant_status": "withdrawn",
        "day1": DAY1,
        "existing": history(1),
        "reason": "withdrew consent",
    }
    withdrawn = TerminalEvent("withdrawn", date_of_study_day(DAY1, 3))
    check_not_administered(**args, dose_number=2, terminal=withdrawn)  # window opened Day 3
    with pytest.raises(StateConflict) as exc:
        check_not_administered(
            **{**args, "existing": [*history(1), DoseRecordView(2, "not_administered")]},
            dose_number=3,
            terminal=withdrawn,
        )
    assert "never due" in exc.value.detail


# --- schedule ------------------------------------------------------------------------------------


def schedule_on(day: int, **overrides: Any) -> dict[int, str]:
    args: dict[str, Any] = {
        "arm": "exosome",
        "participant_status": "randomized",
        "day1": DAY1,
        "existing": history(1),
        "today": date_of_study_day(DAY1, day),
    }
    args.update(overrides)
    return {d.dose_number: d.status for d in dosing_schedule(**args).doses}


def test_schedule_windows_and_dates() -> None:
    sched = dosing_schedule(
        arm="exosome", participant_status="randomized", day1=DAY1, existing=[], today=DAY1
    )
    d2 = sched.doses[1]
    assert (d2.target_day, d2.target_date) == (4, date(2025, 3, 4))
    assert (d2.window_start, d2.window_end) == (date(2025, 3, 3), date(2025, 3, 5))
    assert sched.doses[0].window_start == sched.doses[0].window_end == DAY1
    assert sched.next_dose == sched.doses[0]
    assert sched.next_dose.status == "due"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (2, {1: "given", 2: "upcoming", 3: "upcoming", 4: "upcoming"}),
        (3, {1: "given", 2: "due", 3: "upcoming", 4: "upcoming"}),
        (5, {1: "given", 2: "due", 3: "upcoming", 4: "upcoming"}),
        (6, {1: "given", 2: "overdue", 3: "due", 4: "upcoming"}),
        (12, {1: "given", 2: "overdue", 3: "overdue", 4: "overdue"}),
    ],
)
def test_schedule_statuses_on_a_frozen_clock(day: int, expected: dict[int, str]) -> None:
    assert schedule_on(day) == expected


def test_next_dose_is_the_first_unrecorded() -> None:
    existing = [given(1, 1), DoseRecordView(2, "not_administered")]
    sched = dosing_schedule(
        arm="exosome",
        participant_status="randomized",
        day1=DAY1,
        existing=existing,
        today=date_of_study_day(DAY1, 6),
    )
    assert [d.status for d in sched.doses] == ["given", "not_administered", "due", "upcoming"]
    assert sched.next_dose is not None
    assert sched.next_dose.dose_number == 3


def test_schedule_not_applicable_for_control_and_terminal() -> None:
    assert set(schedule_on(5, arm="control", existing=[]).values()) == {"not_applicable"}
    death_day2 = TerminalEvent("death", date_of_study_day(DAY1, 2))
    after_death = schedule_on(5, participant_status="died", terminal=death_day2)
    assert after_death == {
        1: "given",
        2: "not_applicable",
        3: "not_applicable",
        4: "not_applicable",
    }
    # a death on Day 4: dose 2 was due, its record is missing; nothing is "next"
    death_day4 = TerminalEvent("death", date_of_study_day(DAY1, 4))
    assert schedule_on(6, participant_status="died", terminal=death_day4) == {
        1: "given",
        2: "overdue",
        3: "not_applicable",
        4: "not_applicable",
    }
    sched = dosing_schedule(
        arm="exosome",
        participant_status="died",
        day1=DAY1,
        existing=history(1),
        today=date_of_study_day(DAY1, 6),
        terminal=death_day4,
    )
    assert sched.next_dose is None
    sched = dosing_schedule(
        arm="control", participant_status="randomized", day1=DAY1, existing=[], today=DAY1
    )
    assert sched.next_dose is None


def test_no_next_dose_when_all_recorded() -> None:
    sched = dosing_schedule(
        arm="exosome",
        participant_status="randomized",
        day1=DAY1,
        existing=history(4),
        today=date_of_study_day(DAY1, 10),
    )
    assert sched.next_dose is None
