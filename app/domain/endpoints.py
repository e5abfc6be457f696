"""The trial's endpoints (SPEC §1), computed by randomized arm (intention to treat).

Survival time. `t` = death date - Day 1, in days (a death on Day 1 is `t = 0`). A participant
with no recorded death is censored at the last date known alive, `t = that date - Day 1`: the
latest sign of life the service passes (Day 1, visits with vital status alive, doses given,
the date of a withdrawal or loss to follow-up - that outcome's date is the date of last
contact - and the date of a liver transplant or treatment abandonment, on which the
participant was alive; survival is still followed after those, so they censor only when they
are the last sign of life). Landmarks (SPEC §1): a participant seen alive at the Day 28
(resp. Day 84) visit, whatever day of its window, is alive at t = 28 (resp. 84), so is
censored no earlier than that (`protocol.SURVIVAL_LANDMARKS`): an on-schedule trial always has
its 12-week estimate. With nothing known beyond Day 1 the participant is censored at `t = 0`
(a date before Day 1 counts as Day 1): they stay in the denominator at time 0 and leave the
risk set immediately. With a recorded death the signs of life are ignored.

Kaplan-Meier. `S(t) = P(T > t)` from `scipy.stats.ecdf` on right-censored data; ties follow the
usual convention (deaths on a day come before censorings on that day; those censored on day
`t` count as alive past `t`). The 95% interval is scipy's `log-log` interval (exponential
Greenwood, Kalbfleisch-Prentice): `S^exp(+-z*se)`, with `se = sqrt(sum d/(n(n-d))) / |ln S|`.
It stays inside (0, 1), unlike the clipped linear Greenwood interval. Edge cases:
- an arm with nobody randomized: estimate, ci_low and ci_high are all null;
- `S(t)` is 1 (no death up to t) or 0 (everyone dead by t): the estimate is reported and both
  interval bounds are null, because the Greenwood variance is 0 and the log-log interval is
  undefined there (scipy returns NaN); a [1, 1] interval would claim a certainty no sample of
  10 has;
- `t` after the arm's last observation, with that observation censored and `S > 0`: the curve
  is undefined there, so everything is null (not estimable, e.g. at an interim look before
  anyone reached day 84). Someone censored exactly at `t` still supports `S(t)`.

Adverse outcome by week k. The first death, treatment abandonment or liver transplantation at
`t <= 7k` (so day 28 counts for week 4) over the number randomized to the arm, with the 95%
Wilson score interval (`scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`, no
continuity correction), which behaves well at 0/n and n/n. Participants without such an outcome,
whatever their follow-up, count in the denominator only (as SPEC §1 states: a proportion of the
randomized). n = 0 gives nulls.

Log-rank. `scipy.stats.logrank` of overall survival, control (x) vs exosome (y), two-sided.
Null when an arm has nobody randomized, when there is no death at all, or when the statistic is
undefined (zero variance).

Fisher exact. The adverse-outcome proportions are compared between the arms with the two-sided
Fisher exact test (`scipy.stats.fisher_exact` on the 2x2 table control/exosome x with/without
an adverse outcome by week k); null when an arm has nobody randomized.

Change from baseline. n, mean and the sample standard deviation (ddof = 1); the SD is null for
n < 2 and the mean for n = 0. Assessments dated after a liver transplant or a treatment
abandonment (`ENDS_CHANGE_FROM_BASELINE`) are left out: a new liver's scores and labs, or those
of a participant off treatment, do not measure the treatment (the participant still counts for
survival and adverse outcomes).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from app.domain import protocol
from app.domain.errors import InvalidData

CONTROL_ARM, EXOSOME_ARM = protocol.ARMS


def _scipy_stats() -> Any:
    """scipy takes seconds to import; only the reports need it, so workers start without it."""
    from scipy import stats

    return stats


DAYS_PER_WEEK = 7
WEEKS_4 = protocol.SURVIVAL_4W_DAY // DAYS_PER_WEEK
WEEKS_12 = protocol.SURVIVAL_12W_DAY // DAYS_PER_WEEK
KM_CI_METHOD = "log-log"
ENDS_CHANGE_FROM_BASELINE: frozenset[str] = frozenset({"liver_transplant", "treatment_abandoned"})
PROPORTION_CI_METHOD = "wilson"


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its confidence interval; null parts are not estimable."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None


NOT_ESTIMABLE = Estimate(None, None, None)


@dataclass(frozen=True, slots=True)
class SurvivalRecord:
    """One randomized participant's survival time in days from Day 1 and whether they died."""

    arm: str
    time_days: int
    event: bool


@dataclass(frozen=True, slots=True)
class Summary:
    """Descriptive summary of changes from baseline."""

    n: int
    mean: float | None
    sd: float | None


@dataclass(frozen=True, slots=True)
class ArmEndpoints:
    """One arm's line of the endpoints report (SPEC §6)."""

    randomized: int
    survival_4w: Estimate
    survival_12w: Estimate
    adverse_outcome_4w: Estimate
    adverse_outcome_12w: Estimate


@dataclass(frozen=True, slots=True)
class EndpointReport:
    """The endpoints report: one entry per arm (in protocol.ARMS order) and the tests."""

    arms: dict[str, ArmEndpoints]
    logrank_p: float | None
    adverse_outcome_4w_p: float | None
    adverse_outcome_12w_p: float | None


# --- building the inputs ----------------------------------------------------------------------


def survival_record(
    *,
    arm: str,
    day1: date,
    death_date: date | None,
    alive_on: Iterable[date] = (),
    seen_alive_at_visits: Iterable[int] = (),
) -> SurvivalRecord:
    """Event at the death date, else censored at the latest sign of life or landmark.

    `alive_on`: dates with a sign of life; `seen_alive_at_visits`: the protocol visit days at
    which the participant was seen alive (their landmarks count, see the module docstring).
    """
    _check_arm(arm)
    if death_date is not None:
        if death_date < day1:
            raise InvalidData.one("death_date", "must not be before Day 1 (randomization)")
        return SurvivalRecord(arm, (death_date - day1).days, event=True)
    alive_days = [(d - day1).days for d in alive_on]
    landmarks = [protocol.SURVIVAL_LANDMARKS.get(day, 0) for day in seen_alive_at_visits]
    return SurvivalRecord(arm, max([0, *alive_days, *landmarks]), event=False)


def adverse_outcome_day(day1: date, dates: Iterable[date]) -> int | None:
    """Days from Day 1 to the first death, abandonment or transplant; None without one."""
    days = [(d - day1).days for d in dates]
    if any(t < 0 for t in days):
        raise InvalidData.one("date", "an adverse outcome must not be before Day 1")
    return min(days, default=None)


def _check_arm(arm: str) -> None:
    if arm not in protocol.ARMS:
        raise InvalidData.one("arm", f"must be one of {', '.join(protocol.ARMS)}")


# --- Kaplan-Meier -----------------------------------------------------------------------------


def kaplan_meier_at(records: Sequence[SurvivalRecord], t: int) -> Estimate:
    """KM S(t) = P(T > t) with the log-log 95% interval; the edge cases are in the docstring."""
    if not records:
        return NOT_ESTIMABLE
    sf = _scipy_stats().ecdf(_censored(records)).sf
    estimate = float(sf.evaluate(t))
    if estimate > 0 and max(r.time_days for r in records) < t:
        return NOT_ESTIMABLE
    if estimate in (0.0, 1.0):
        return Estimate(estimate, None, None)
    low, high = _km_interval(sf, t)
    return Estimate(estimate, low, high)


def _censored(records: Sequence[SurvivalRecord]) -> Any:
    """scipy's right-censored sample (scipy has no type stubs)."""
    return _scipy_stats().CensoredData(
        uncensored=[r.time_days for r in records if r.event],
        right=[r.time_days for r in records if not r.event],
    )


def _km_interval(sf: Any, t: int) -> tuple[float | None, float | None]:
    with warnings.catch_warnings():
        # scipy warns where the interval is undefined (S = 0 or 1); those cases are handled.
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = sf.confidence_interval(confidence_level=protocol.CONFIDENCE_LEVEL, method=KM_CI_METHOD)
        return _finite(ci.low.evaluate(t)), _finite(ci.high.evaluate(t))


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


# --- adverse outcomes -------------------------------------------------------------------------


def adverse_outcome_proportion(
    outcomes: Sequence[tuple[str, int | None]], randomized_count: int, week: int, *, arm: str
) -> Estimate:
    """Share of `arm`'s randomized with an adverse outcome at t <= 7*week, Wilson 95% CI.

    `outcomes` holds at most one (arm, first adverse-outcome day or None) per participant.
    """
    _check_arm(arm)
    if randomized_count == 0:
        return NOT_ESTIMABLE
    horizon = DAYS_PER_WEEK * week
    cases = sum(1 for a, t in outcomes if a == arm and t is not None and t <= horizon)
    if cases > randomized_count:
        raise ValueError(f"{cases} adverse outcomes in {arm} but {randomized_count} randomized")
    return _proportion(cases, randomized_count)


def _proportion(k: int, n: int) -> Estimate:
    ci = (
        _scipy_stats()
        .binomtest(k, n)
        .proportion_ci(confidence_level=protocol.CONFIDENCE_LEVEL, method=PROPORTION_CI_METHOD)
    )
    return Estimate(k / n, float(ci.low), float(ci.high))


# --- log-rank ---------------------------------------------------------------------------------


def logrank_p(records: Sequence[SurvivalRecord]) -> float | None:
    """Two-sided log-rank p, control vs exosome; None when it cannot be computed."""
    control = [r for r in records if r.arm == CONTROL_ARM]
    exosome = [r for r in records if r.arm == EXOSOME_ARM]
    if not control or not exosome or not any(r.event for r in records):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # zero variance: NaN, handled below
        result = _scipy_stats().logrank(
            x=_censored(control), y=_censored(exosome), alternative="two-sided"
        )
    return _finite(result.pvalue)


# --- Fisher exact -----------------------------------------------------------------------------


def adverse_outcome_fisher_p(
    outcomes: Sequence[tuple[str, int | None]], randomized: dict[str, int], week: int
) -> float | None:
    """Two-sided Fisher exact p of adverse outcome by week k, control vs exosome."""
    if any(randomized.get(arm, 0) == 0 for arm in protocol.ARMS):
        return None
    horizon = DAYS_PER_WEEK * week
    table = []
    for arm in protocol.ARMS:
        cases = sum(1 for a, t in outcomes if a == arm and t is not None and t <= horizon)
        table.append([cases, randomized[arm] - cases])
    return _finite(_scipy_stats().fisher_exact(table, alternative="two-sided").pvalue)


# --- change from baseline ---------------------------------------------------------------------


def change_from_baseline_summary(values: Sequence[float]) -> Summary:
    """n, mean and sample SD (ddof=1) of the changes; SD needs two values, the mean one."""
    n = len(values)
    if n == 0:
        return Summary(0, None, None)
    data = np.asarray(values, dtype=float)
    sd = float(np.std(data, ddof=1)) if n >= 2 else None
    return Summary(n, float(np.mean(data)), sd)


# --- the report -------------------------------------------------------------------------------


def endpoint_report(
    records: Sequence[SurvivalRecord], outcomes: Sequence[tuple[str, int | None]]
) -> EndpointReport:
    """All SPEC §6 endpoints; `records` has one entry per randomized participant (ITT)."""
    arms = {arm: _arm_endpoints(records, outcomes, arm) for arm in protocol.ARMS}
    randomized = {arm: line.randomized for arm, line in arms.items()}
    return EndpointReport(
        arms=arms,
        logrank_p=logrank_p(records),
        adverse_outcome_4w_p=adverse_outcome_fisher_p(outcomes, randomized, WEEKS_4),
        adverse_outcome_12w_p=adverse_outcome_fisher_p(outcomes, randomized, WEEKS_12),
    )


def _arm_endpoints(
    records: Sequence[SurvivalRecord], outcomes: Sequence[tuple[str, int | None]], arm: str
) -> ArmEndpoints:
    mine = list(_of_arm(records, arm))
    n = len(mine)
    return ArmEndpoints(
        randomized=n,
        survival_4w=kaplan_meier_at(mine, protocol.SURVIVAL_4W_DAY),
        survival_12w=kaplan_meier_at(mine, protocol.SURVIVAL_12W_DAY),
        adverse_outcome_4w=adverse_outcome_proportion(outcomes, n, WEEKS_4, arm=arm),
        adverse_outcome_12w=adverse_outcome_proportion(outcomes, n, WEEKS_12, arm=arm),
    )


def _of_arm(records: Sequence[SurvivalRecord], arm: str) -> Iterator[SurvivalRecord]:
    return (r for r in records if r.arm == arm)
