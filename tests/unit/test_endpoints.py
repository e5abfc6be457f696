"""Endpoint statistics (SPEC §1) against values computed by hand in each test."""

from __future__ import annotations

import math
from datetime import date, timedelta
from statistics import NormalDist

import pytest

from app.domain import protocol
from app.domain.endpoints import (
    NOT_ESTIMABLE,
    Estimate,
    SurvivalRecord,
    adverse_outcome_day,
    adverse_outcome_fisher_p,
    adverse_outcome_proportion,
    change_from_baseline_summary,
    endpoint_report,
    kaplan_meier_at,
    logrank_p,
    survival_record,
)
from app.domain.errors import InvalidData

Z = NormalDist().inv_cdf(0.975)  # 1.95996...
DAY1 = date(2024, 3, 1)


def cohort(arm: str, *observations: tuple[int, bool]) -> list[SurvivalRecord]:
    """(time_days, died) pairs for one arm."""
    return [SurvivalRecord(arm, t, event) for t, event in observations]


def ctl(*observations: tuple[int, bool]) -> list[SurvivalRecord]:
    return cohort("control", *observations)


def exo(*observations: tuple[int, bool]) -> list[SurvivalRecord]:
    return cohort("exosome", *observations)


D, C = True, False  # died / censored

# 5 died, 10 censored, 20 died, 30 died, 90 censored.
BASIC = ctl((5, D), (10, C), (20, D), (30, D), (90, C))


# --- survival records -------------------------------------------------------------------------


def test_death_is_an_event_at_days_from_day1() -> None:
    record = survival_record(
        arm="exosome", day1=DAY1, death_date=DAY1 + timedelta(days=27), alive_on=()
    )
    assert record == SurvivalRecord("exosome", 27, event=True)


def test_death_on_day1_is_time_zero() -> None:
    record = survival_record(arm="control", day1=DAY1, death_date=DAY1, alive_on=())
    assert record == SurvivalRecord("control", 0, event=True)


def test_a_recorded_death_ignores_the_last_date_known_alive() -> None:
    record = survival_record(
        arm="control",
        day1=DAY1,
        death_date=DAY1 + timedelta(days=40),
        alive_on=[DAY1 + timedelta(days=30)],
    )
    assert record == SurvivalRecord("control", 40, event=True)


def test_no_death_is_censored_at_the_last_date_known_alive() -> None:
    record = survival_record(
        arm="control", day1=DAY1, death_date=None, alive_on=[DAY1 + timedelta(days=84)]
    )
    assert record == SurvivalRecord("control", 84, event=False)


@pytest.mark.parametrize("alive_on", [(), (DAY1,), (DAY1 - timedelta(days=3),)])
def test_nothing_known_beyond_day1_is_censored_at_zero(alive_on: tuple[date, ...]) -> None:
    record = survival_record(arm="control", day1=DAY1, death_date=None, alive_on=alive_on)
    assert record == SurvivalRecord("control", 0, event=False)


@pytest.mark.parametrize(
    ("visit_day", "seen_on_day", "t"),
    [
        (84, 84, 84),  # on target (t = 83): alive at the 12-week landmark (review item 1)
        (84, 77, 84),  # the window's first day
        (84, 91, 90),  # the window's last day: the later sign of life wins
        (28, 25, 28),  # an early Day 28 visit: alive at the 4-week landmark
        (13, 13, 12),  # no landmark for other visits
    ],
)
def test_landmark_visits_censor_no_earlier_than_their_landmark(
    visit_day: int, seen_on_day: int, t: int
) -> None:
    record = survival_record(
        arm="control",
        day1=DAY1,
        death_date=None,
        alive_on=[DAY1 + timedelta(days=seen_on_day - 1)],
        seen_alive_at_visits=[visit_day],
    )
    assert record == SurvivalRecord("control", t, event=False)


def test_on_schedule_trial_has_its_12_week_estimate() -> None:
    """Review item 1: ten survivors per arm seen alive at the Day 84 visit on Day 84."""
    records = [
        survival_record(
            arm=arm,
            day1=DAY1,
            death_date=None,
            alive_on=[DAY1 + timedelta(days=83)],
            seen_alive_at_visits=[28, 84],
        )
        for arm in ("control", "exosome")
        for _ in range(10)
    ]
    report = endpoint_report(records, [(r.arm, None) for r in records])
    for line in report.arms.values():
        assert line.survival_12w.estimate == 1.0
        assert line.survival_4w.estimate == 1.0


def test_fisher_exact_p_of_the_adverse_outcomes() -> None:
    outcomes = [("control", None)] * 5 + [("exosome", 9), ("exosome", 14), ("exosome", 19)]
    outcomes += [("exosome", None)] * 2
    randomized = {"control": 5, "exosome": 5}
    # hypergeometric by hand: P(0 control cases | 3 cases in 10) = 10/120; two-sided 20/120
    assert adverse_outcome_fisher_p(outcomes, randomized, 4) == pytest.approx(20 / 120)
    assert adverse_outcome_fisher_p(outcomes, {"control": 0, "exosome": 5}, 4) is None


def test_death_before_day1_and_unknown_arm_are_invalid() -> None:
    with pytest.raises(InvalidData) as exc:
        survival_record(arm="control", day1=DAY1, death_date=DAY1 - timedelta(days=1), alive_on=())
    assert exc.value.errors[0].field == "death_date"
    with pytest.raises(InvalidData):
        survival_record(arm="placebo", day1=DAY1, death_date=None, alive_on=())


def test_adverse_outcome_day_is_the_first_outcome() -> None:
    dates = [DAY1 + timedelta(days=50), DAY1 + timedelta(days=28)]
    assert adverse_outcome_day(DAY1, dates) == 28
    assert adverse_outcome_day(DAY1, []) is None
    with pytest.raises(InvalidData):
        adverse_outcome_day(DAY1, [DAY1 - timedelta(days=1)])


# --- Kaplan-Meier -----------------------------------------------------------------------------


def test_km_basic_cohort_by_hand() -> None:
    # day 5: 5 at risk, 1 death -> 4/5; day 10 censored; day 20: 3 at risk, 1 death -> x 2/3;
    # day 30: 2 at risk, 1 death -> x 1/2; day 90 censored (followed past day 84).
    assert kaplan_meier_at(BASIC, 4).estimate == 1.0
    assert kaplan_meier_at(BASIC, 5).estimate == pytest.approx(4 / 5)
    assert kaplan_meier_at(BASIC, 28).estimate == pytest.approx(4 / 5 * 2 / 3)  # 0.5333
    assert kaplan_meier_at(BASIC, 84).estimate == pytest.approx(4 / 5 * 2 / 3 * 1 / 2)  # 0.2667


def test_km_log_log_interval_by_hand() -> None:
    # Greenwood: sum d/(n(n-d)) over deaths up to t=28 = 1/(5*4) + 1/(3*2) = 13/60.
    # log-log: se = sqrt(13/60) / |ln S|; interval = S^exp(+z*se) .. S^exp(-z*se).
    s = 8 / 15
    se = math.sqrt(1 / (5 * 4) + 1 / (3 * 2)) / abs(math.log(s))
    low, high = s ** math.exp(Z * se), s ** math.exp(-Z * se)
    result = kaplan_meier_at(BASIC, 28)
    assert result.ci_low == pytest.approx(low, rel=1e-9)  # 0.0683
    assert result.ci_high == pytest.approx(high, rel=1e-9)  # 0.8631
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert 0 < result.ci_low < s < result.ci_high < 1


def test_km_ties_deaths_before_censoring_on_the_same_day() -> None:
    # Two deaths and one censoring on day 10: 6 at risk -> 4/6. Censored at 15.
    # Day 40: 2 at risk, 1 death -> x 1/2. Day 90 censored.
    tied = ctl((10, D), (10, D), (10, C), (15, C), (40, D), (90, C))
    assert kaplan_meier_at(tied, 9).estimate == 1.0
    assert kaplan_meier_at(tied, 10).estimate == pytest.approx(4 / 6)
    assert kaplan_meier_at(tied, 28).estimate == pytest.approx(4 / 6)
    assert kaplan_meier_at(tied, 84).estimate == pytest.approx(4 / 6 * 1 / 2)


def test_km_censoring_around_day_28_and_84() -> None:
    # Censored at 27 (before 28), at 28 exactly (known alive on day 28) and at 84 exactly.
    # Day 3: 5 at risk, 1 death -> 4/5. Day 50: at risk {50, 84}, 1 death -> x 1/2.
    data = ctl((3, D), (27, C), (28, C), (50, D), (84, C))
    assert kaplan_meier_at(data, 28).estimate == pytest.approx(4 / 5)
    assert kaplan_meier_at(data, 84).estimate == pytest.approx(4 / 5 * 1 / 2)


def test_km_not_estimable_after_the_last_censored_observation() -> None:
    data = ctl((3, D), (27, C), (60, C))
    assert kaplan_meier_at(data, 28).estimate == pytest.approx(2 / 3)
    assert kaplan_meier_at(data, 84) == NOT_ESTIMABLE


def test_km_zero_once_everyone_has_died() -> None:
    data = exo((3, D), (7, D))
    assert kaplan_meier_at(data, 84) == Estimate(0.0, None, None)


def test_km_arm_without_events_is_one_with_no_interval() -> None:
    data = exo((30, C), (84, C), (90, C))
    assert kaplan_meier_at(data, 28) == Estimate(1.0, None, None)
    assert kaplan_meier_at(data, 84) == Estimate(1.0, None, None)


def test_km_death_on_day1_counts_before_day_28() -> None:
    data = ctl((0, D), (0, C), (90, C))
    # Time 0: 3 at risk, 1 death -> 2/3; the censored-at-0 then leaves the risk set.
    assert kaplan_meier_at(data, 28).estimate == pytest.approx(2 / 3)


def test_km_empty_arm_is_not_estimable() -> None:
    assert kaplan_meier_at([], 28) == NOT_ESTIMABLE


# --- log-rank ---------------------------------------------------------------------------------


def p_from_hand(observed: float, expected: float, variance: float) -> float:
    """Two-sided p of the log-rank chi-square (O-E)^2/V with 1 df = erfc(|Z|/sqrt 2)."""
    z = (observed - expected) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def test_logrank_tiny_example_by_hand() -> None:
    # Control: 5 died, 10 censored, 20 died. Exosome: 30 died, 40 and 50 censored.
    # At each death time: E1 = n1*d/n, V = n1*n2*d*(n-d) / (n^2 (n-1)).
    # t=5:  n1=3, n2=3, d=1 -> E1 = 3/6 = 0.5,  V = 3*3*1*5/(36*5) = 0.25
    # t=20: n1=1, n2=3, d=1 -> E1 = 1/4 = 0.25, V = 1*3*1*3/(16*3) = 0.1875
    # t=30: n1=0, n2=3, d=1 -> E1 = 0,          V = 0
    # O1 = 2, E1 = 0.75, V = 0.4375: chi-square = 1.25^2/0.4375 = 25/7.
    records = ctl((5, D), (10, C), (20, D)) + exo((30, D), (40, C), (50, C))
    expected = p_from_hand(2, 0.75, 0.4375)
    assert logrank_p(records) == pytest.approx(expected, rel=1e-9)  # 0.0588
    assert expected == pytest.approx(math.erfc(math.sqrt(25 / 7 / 2)))


def test_logrank_with_a_tie_across_arms_by_hand() -> None:
    # Control: 2 died, 4 died, 6 censored. Exosome: 4 died, 8 died, 9 censored.
    # t=2: n1=3, n2=3, d=1 -> E1 = 0.5,     V = 3*3*1*5/(36*5)  = 0.25
    # t=4: n1=2, n2=3, d=2 -> E1 = 2*2/5,   V = 2*3*2*3/(25*4)  = 0.36
    # t=8: n1=0, n2=2, d=1 -> E1 = 0,       V = 0
    # O1 = 2, E1 = 1.3, V = 0.61.
    records = ctl((2, D), (4, D), (6, C)) + exo((4, D), (8, D), (9, C))
    assert logrank_p(records) == pytest.approx(p_from_hand(2, 1.3, 0.61), rel=1e-9)


def test_logrank_is_symmetric_in_the_arms() -> None:
    records = ctl((5, D), (10, C), (20, D)) + exo((30, D), (40, C), (50, C))
    other = {"control": "exosome", "exosome": "control"}
    swapped = [SurvivalRecord(other[r.arm], r.time_days, r.event) for r in records]
    assert logrank_p(swapped) == pytest.approx(logrank_p(records))


def test_logrank_none_without_events_or_with_an_empty_arm() -> None:
    assert logrank_p(ctl((5, C)) + exo((6, C))) is None
    assert logrank_p(ctl((5, D), (6, C))) is None
    assert logrank_p([]) is None


# --- adverse outcomes -------------------------------------------------------------------------


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score interval: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    centre = p + Z**2 / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return (centre - half) / (1 + Z**2 / n), (centre + half) / (1 + Z**2 / n)


OUTCOMES: list[tuple[str, int | None]] = [
    ("control", 0),
    ("control", 28),  # counts at week 4 (t <= 28 inclusive)
    ("control", 29),  # only at week 12
    ("control", 84),  # counts at week 12 (t <= 84 inclusive)
    ("control", 85),  # after week 12
    ("control", None),
    ("exosome", 3),
]


def test_adverse_outcome_week_4_counts_day_28() -> None:
    result = adverse_outcome_proportion(OUTCOMES, 10, 4, arm="control")
    low, high = wilson(2, 10)
    assert result.estimate == pytest.approx(0.2)
    assert result.ci_low == pytest.approx(low, rel=1e-9)
    assert result.ci_high == pytest.approx(high, rel=1e-9)


def test_adverse_outcome_week_12_counts_day_84() -> None:
    result = adverse_outcome_proportion(OUTCOMES, 10, 12, arm="control")
    assert result.estimate == pytest.approx(0.4)
    assert (result.ci_low, result.ci_high) == pytest.approx(wilson(4, 10), rel=1e-9)


def test_adverse_outcome_zero_cases_has_a_wilson_upper_bound() -> None:
    result = adverse_outcome_proportion([], 10, 4, arm="exosome")
    assert result.estimate == 0.0
    assert result.ci_low == pytest.approx(0.0, abs=1e-12)
    assert result.ci_high == pytest.approx(wilson(0, 10)[1], rel=1e-9)  # 0.2775


def test_adverse_outcome_without_randomized_is_not_estimable() -> None:
    assert adverse_outcome_proportion([], 0, 4, arm="exosome") == NOT_ESTIMABLE


def test_adverse_outcome_more_cases_than_randomized_is_an_error() -> None:
    with pytest.raises(ValueError, match="randomized"):
        adverse_outcome_proportion(OUTCOMES, 1, 12, arm="control")


# --- change from baseline and the report ------------------------------------------------------


def test_change_from_baseline_summary_uses_sample_sd() -> None:
    summary = change_from_baseline_summary([1.0, 2.0, 3.0, 4.0])
    assert summary.n == 4
    assert summary.mean == pytest.approx(2.5)
    assert summary.sd == pytest.approx(math.sqrt(5 / 3))  # sum of squares 5, ddof=1


def test_change_from_baseline_summary_small_samples() -> None:
    single = change_from_baseline_summary([-1.5])
    assert (single.n, single.mean, single.sd) == (1, -1.5, None)
    empty = change_from_baseline_summary([])
    assert (empty.n, empty.mean, empty.sd) == (0, None, None)


def test_endpoint_report_by_arm() -> None:
    records = BASIC + exo((30, C), (84, C), (90, C))
    outcomes: list[tuple[str, int | None]] = [("control", 5), ("control", 20), ("control", 30)]
    report = endpoint_report(records, outcomes)
    assert list(report.arms) == list(protocol.ARMS)
    control, exosome = report.arms["control"], report.arms["exosome"]
    assert (control.randomized, exosome.randomized) == (5, 3)
    assert control.survival_4w.estimate == pytest.approx(8 / 15)
    assert control.survival_12w.estimate == pytest.approx(4 / 15)
    assert control.adverse_outcome_4w.estimate == pytest.approx(2 / 5)
    assert control.adverse_outcome_12w.estimate == pytest.approx(3 / 5)
    assert exosome.survival_12w == Estimate(1.0, None, None)
    assert exosome.adverse_outcome_12w.estimate == 0.0
    assert report.logrank_p is not None
    assert 0 < report.logrank_p < 1


def test_endpoint_report_with_nobody_randomized() -> None:
    report = endpoint_report([], [])
    assert all(a.randomized == 0 for a in report.arms.values())
    assert report.arms["control"].survival_12w == NOT_ESTIMABLE
    assert report.arms["exosome"].adverse_outcome_4w == NOT_ESTIMABLE
    assert report.logrank_p is None
