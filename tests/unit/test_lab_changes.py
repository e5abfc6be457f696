"""The biochemical secondary endpoint: change from baseline per analyte and visit day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from app.domain.lab_changes import LabPoint, lab_changes

DAY1 = date(2024, 3, 10)


def at(study_day: int, value: str, hour: int = 8, analyte: str = "alt") -> LabPoint:
    on = DAY1 + timedelta(days=study_day - 1)
    return LabPoint(analyte, on, datetime.combine(on, time(hour), UTC), Decimal(value))


def test_latest_baseline_in_the_screening_window_and_latest_in_each_visit_window() -> None:
    points = [
        at(-3, "200"),  # an earlier baseline value
        at(1, "120"),  # the latest on or before Day 1: the baseline
        at(26, "60"),
        at(30, "50"),  # the latest inside the Day 28 window (25-31)
        at(32, "40"),  # outside every window
    ]
    assert lab_changes(DAY1, points) == {"alt": {28: Decimal("-70")}}


def test_no_baseline_outside_the_window_means_no_change() -> None:
    points = [at(-7, "100"), at(28, "70")]  # Day -7 = 8 days before Day 1: outside the window
    assert lab_changes(DAY1, points) == {}
    assert lab_changes(DAY1, [at(-6, "100"), at(28, "70")]) == {"alt": {28: Decimal("-30")}}


def test_same_day_takes_the_latest_collection_time() -> None:
    points = [at(1, "100", hour=6), at(1, "110", hour=9), at(4, "90", hour=7)]
    assert lab_changes(DAY1, points) == {"alt": {4: Decimal("-20")}}


def test_results_after_a_transplant_or_abandonment_are_left_out() -> None:
    points = [at(1, "100"), at(7, "80"), at(28, "40")]
    ended = DAY1 + timedelta(days=19)  # Day 20
    assert lab_changes(DAY1, points, ended_on=ended) == {"alt": {7: Decimal("-20")}}


def test_each_analyte_on_its_own() -> None:
    points = [at(1, "100"), at(4, "90"), at(1, "30", analyte="albumin")]
    points.append(at(4, "32", analyte="albumin"))
    assert lab_changes(DAY1, points) == {
        "albumin": {4: Decimal("2")},
        "alt": {4: Decimal("-10")},
    }
