"""Visit windows and schedule statuses (SPEC §2.5) on frozen dates."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.domain.deviations import DeviationFinding
from app.domain.errors import InvalidData, StateConflict
from app.domain.study_days import date_of_study_day, study_day
from app.domain.visits import check_visit, visit_schedule

DAY1 = date(2025, 3, 1)
TODAY = date_of_study_day(DAY1, 120)


def on(day: int) -> date:
    return date_of_study_day(DAY1, day)


def visit(**overrides: Any) -> list[DeviationFinding]:
    args: dict[str, Any] = {
        "day1": DAY1,
        "visit_day": 4,
        "visit_date": on(4),
        "today": TODAY,
        "recorded_days": [],
        "outcomes": {},
        "vital_status": "alive",
        "assessments": {"labs", "he_grade"},
        "deviation_reason": None,
        "participant_status": "randomized",
    }
    args.update(overrides)
    return check_visit(**args)


def test_study_day_has_no_day_zero() -> None:
    assert study_day(DAY1, DAY1) == 1
    assert study_day(DAY1, date(2025, 2, 28)) == 0
    assert study_day(DAY1, date(2025, 3, 4)) == 4
    assert date_of_study_day(DAY1, 84) == date(2025, 5, 23)
    assert date_of_study_day(DAY1, study_day(DAY1, date(2025, 7, 1))) == date(2025, 7, 1)


@pytest.mark.parametrize(
    ("visit_day", "inside", "outside"),
    [(4, [3, 4, 5], [2, 6]), (28, [25, 28, 31], [24, 32]), (84, [77, 84, 91], [76, 92])],
)
def test_window_edges(visit_day: int, inside: list[int], outside: list[int]) -> None:
    for day in inside:
        assert visit(visit_day=visit_day, visit_date=on(day)) == []
    for day in outside:
        with pytest.raises(InvalidData) as exc:
            visit(visit_day=visit_day, visit_date=on(day))
        assert [e.field for e in exc.value.errors] == ["deviation_reason"]
        found = visit(visit_day=visit_day, visit_date=on(day), deviation_reason="patient away")
        assert [f.kind for f in found] == ["visit_out_of_window"]
        assert f"Day {day}" in found[0].detail


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"visit_day": 5}, "visit_day"),
        ({"visit_day": 0}, "visit_day"),
        ({"visit_date": on(121)}, "visit_date"),
        ({"visit_date": on(0), "deviation_reason": "x"}, "visit_date"),
        ({"outcomes": {"death": on(3)}}, "visit_date"),
        ({"outcomes": {"death": on(5)}, "vital_status": "dead", "assessments": ()}, "visit_date"),
    ],
)
def test_invalid_visits(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidData) as exc:
        visit(**overrides)
    assert [e.field for e in exc.value.errors] == [field]


def test_visit_on_the_day_of_death_is_allowed() -> None:
    assert visit(outcomes={"death": on(4)}) == []


def test_dead_needs_the_recorded_death_and_carries_no_assessments() -> None:
    """Review item 5: a visit saying dead was silently ignored by the endpoints."""
    with pytest.raises(StateConflict):
        visit(vital_status="dead", assessments=set())
    died = {"death": on(2)}
    assert visit(vital_status="dead", assessments=set(), outcomes=died) == []
    with pytest.raises(InvalidData) as exc:
        visit(vital_status="dead", outcomes=died)
    assert [e.field for e in exc.value.errors] == ["labs", "he_grade"]


@pytest.mark.parametrize("kind", ["liver_transplant", "treatment_abandoned"])
def test_only_survival_contacts_after_a_transplant_or_abandonment(kind: str) -> None:
    """Review item 6: survival is still followed after these events."""
    ended = {kind: on(5)}
    assert visit(visit_day=28, visit_date=on(28), outcomes=ended, assessments=set()) == []
    assert visit(visit_day=84, visit_date=on(84), outcomes=ended) == []
    assert visit(visit_day=4, visit_date=on(4), outcomes=ended) == []  # before the event
    with pytest.raises(StateConflict):
        visit(visit_day=7, visit_date=on(7), outcomes=ended)


def test_no_visit_after_a_withdrawal_but_after_a_loss_to_follow_up() -> None:
    with pytest.raises(StateConflict):
        visit(visit_day=28, visit_date=on(28), outcomes={"withdrawn": on(10)})
    assert visit(visit_day=28, visit_date=on(28), outcomes={"lost_to_follow_up": on(10)}) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"recorded_days": [4]},
        {"participant_status": "eligible"},
        {"participant_status": "screening"},
    ],
)
def test_state_conflicts(overrides: dict[str, Any]) -> None:
    with pytest.raises(StateConflict):
        visit(**overrides)


def test_terminal_status_alone_does_not_refuse_a_late_entry() -> None:
    assert visit(participant_status="withdrawn", outcomes={"withdrawn": on(10)}) == []


# --- schedule ------------------------------------------------------------------------------------


def statuses(today: int, **overrides: Any) -> dict[int | None, str]:
    args: dict[str, Any] = {
        "day1": DAY1,
        "recorded": {},
        "outcomes": {},
        "today": on(today),
        "baseline_date": on(-2),
    }
    args.update(overrides)
    return {s.visit_day: s.status for s in visit_schedule(**args)}


def test_schedule_dates_and_baseline() -> None:
    slots = visit_schedule(
        day1=DAY1,
        recorded={4: on(4)},
        outcomes={},
        today=on(6),
        baseline_date=on(-1),
    )
    assert [s.visit_day for s in slots] == [None, 4, 7, 10, 13, 28, 84]
    baseline, d4, *_, d84 = slots
    assert (baseline.status, baseline.visit_date) == ("completed", on(-1))
    assert (baseline.window_start, baseline.window_end) == (date(2025, 2, 22), DAY1)
    assert (d4.status, d4.visit_date) == ("completed", on(4))
    assert (d84.target_date, d84.window_start, d84.window_end) == (on(84), on(77), on(91))


def test_baseline_without_screening_is_missed() -> None:
    assert statuses(1, baseline_date=None)[None] == "missed"


@pytest.mark.parametrize(
    ("today", "expected_day4", "expected_day28"),
    [
        (1, "upcoming", "upcoming"),
        (3, "due", "upcoming"),
        (4, "due", "upcoming"),
        (5, "overdue", "upcoming"),
        (6, "missed", "upcoming"),
        (25, "missed", "due"),
        (28, "missed", "due"),
        (29, "missed", "overdue"),
        (31, "missed", "overdue"),
        (32, "missed", "missed"),
    ],
)
def test_schedule_statuses_on_frozen_dates(
    today: int, expected_day4: str, expected_day28: str
) -> None:
    result = statuses(today)
    assert (result[4], result[28]) == (expected_day4, expected_day28)


def test_not_applicable_after_death() -> None:
    result = statuses(
        40,
        recorded={4: on(4), 7: on(7)},
        outcomes={"death": on(11)},
    )
    assert result == {
        None: "completed",
        4: "completed",
        7: "completed",
        10: "not_applicable",  # window Day 9-11 still open at death on Day 11
        13: "not_applicable",
        28: "not_applicable",
        84: "not_applicable",
    }


def test_missed_before_death_stays_missed() -> None:
    result = statuses(40, outcomes={"death": on(20)})
    assert [result[d] for d in (4, 7, 10, 13)] == ["missed"] * 4
    assert [result[d] for d in (28, 84)] == ["not_applicable"] * 2


def test_loss_to_follow_up_ends_every_visit() -> None:
    result = statuses(8, outcomes={"lost_to_follow_up": on(7)})
    assert (result[4], result[7], result[10]) == ("missed", "not_applicable", "not_applicable")
    assert (result[28], result[84]) == ("not_applicable", "not_applicable")


@pytest.mark.parametrize("kind", ["liver_transplant", "treatment_abandoned"])
def test_survival_contacts_stay_in_the_schedule(kind: str) -> None:
    result = statuses(12, outcomes={kind: on(9)})
    assert result == {
        None: "completed",
        4: "missed",
        7: "missed",
        10: "not_applicable",
        13: "not_applicable",
        28: "upcoming",
        84: "upcoming",
    }
    died_later = statuses(60, outcomes={kind: on(9), "death": on(50)})
    assert (died_later[28], died_later[84]) == ("missed", "not_applicable")
