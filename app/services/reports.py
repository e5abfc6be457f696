"""Trial reports: endpoints by arm (ITT), change from baseline, CONSORT flow, safety.

The statistics are the domain's (`app.domain.endpoints`); this module turns the stored records
into its inputs. Voided records never count.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.db.repositories import reports as repo
from app.domain import endpoints as stats
from app.domain import protocol
from app.domain.analytes import ANALYTES
from app.domain.lab_changes import lab_changes
from app.schemas.reports import (
    ArmEndpointsOut,
    ChangeSummaryOut,
    EndpointsReportOut,
    EstimateOut,
)
from app.services import locks

SCORES = ("cossh_aclf_ii", "child_pugh", "symptom_score")
ADVERSE_OUTCOMES = frozenset({"death", "treatment_abandoned", "liver_transplant"})
# Outcomes that show the participant alive on their date (survival follow-up continues).
ALIVE_ON_DATE = frozenset(
    {"withdrawn", "lost_to_follow_up", "liver_transplant", "treatment_abandoned"}
)
METHODS = {
    "population": "intention to treat: every randomized participant, by randomized arm",
    "survival_time": "death date - Day 1 in days; else censored at the latest sign of life "
    "(Day 1, visits alive, doses, withdrawal/loss-to-follow-up/transplant/abandonment dates), "
    "no earlier than t=28 (t=84) when seen alive at the Day 28 (Day 84) visit",
    "survival": "Kaplan-Meier S(t) = P(T > t) (scipy.stats.ecdf), 95% CI log-log",
    "adverse_outcome": "death, treatment abandonment or liver transplant at t <= 7k days, "
    "over the randomized; 95% Wilson score interval (scipy.stats.binomtest)",
    "logrank_p": "two-sided log-rank test of overall survival (scipy.stats.logrank)",
    "adverse_outcome_p": "two-sided Fisher exact test, control vs exosome (scipy.stats."
    "fisher_exact)",
    "change_from_baseline": "visit score - latest screening score; n, mean, sample SD; "
    "assessments after a liver transplant or treatment abandonment are left out",
    "labs": "per analyte, canonical unit: latest result in the visit window - latest result "
    "on or before Day 1 within the 7-day screening window; n, mean, sample SD; results after "
    "a liver transplant or treatment abandonment are left out",
}


@dataclass(frozen=True, slots=True)
class Cohort:
    """The survival inputs of every randomized participant."""

    records: list[stats.SurvivalRecord]
    adverse_days: list[tuple[str, int | None]]


# --- endpoints -------------------------------------------------------------------------------


async def cohort(session: AsyncSession) -> Cohort:
    allocations = await repo.allocations(session)
    by_participant: dict[uuid.UUID, list[tuple[str, date]]] = defaultdict(list)
    for pid, kind, when in await repo.outcomes(session):
        by_participant[pid].append((kind, when))
    alive_visits = await repo.alive_visits(session)
    dose_dates = await repo.dose_dates(session)
    records, adverse = [], []
    for a in allocations:
        events = by_participant.get(a.participant_id, [])
        death = next((d for kind, d in events if kind == "death"), None)
        visits = alive_visits.get(a.participant_id, [])
        alive = [a.day1, *(d for kind, d in events if kind in ALIVE_ON_DATE)]
        alive += [when for _, when in visits]
        if a.participant_id in dose_dates:
            alive.append(dose_dates[a.participant_id][1])
        records.append(
            stats.survival_record(
                arm=a.arm,
                day1=a.day1,
                death_date=death,
                alive_on=alive,
                seen_alive_at_visits=[day for day, _ in visits],
            )
        )
        firsts = [d for kind, d in events if kind in ADVERSE_OUTCOMES]
        adverse.append((a.arm, stats.adverse_outcome_day(a.day1, firsts)))
    return Cohort(records, adverse)


def _estimate(e: stats.Estimate) -> EstimateOut:
    return EstimateOut(estimate=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high)


async def endpoints(session: AsyncSession) -> EndpointsReportOut:
    data = await cohort(session)
    report = stats.endpoint_report(data.records, data.adverse_days)
    changes = await change_from_baseline(session)
    labs = await lab_changes_by_arm(session)
    arms = {
        arm: ArmEndpointsOut(
            randomized=line.randomized,
            deaths=sum(1 for r in data.records if r.arm == arm and r.event),
            survival_4w=_estimate(line.survival_4w),
            survival_12w=_estimate(line.survival_12w),
            adverse_outcome_4w=_estimate(line.adverse_outcome_4w),
            adverse_outcome_12w=_estimate(line.adverse_outcome_12w),
            change_from_baseline=changes[arm],
        )
        for arm, line in report.arms.items()
    }
    return EndpointsReportOut(
        as_of=clock.utc_now().date(),
        arms=arms,
        logrank_p=report.logrank_p,
        adverse_outcome_4w_p=report.adverse_outcome_4w_p,
        adverse_outcome_12w_p=report.adverse_outcome_12w_p,
        labs=labs,
        methods=METHODS,
        data_lock=await locks.data_lock_stamp(session),
    )


def _score(scores: dict[str, Any] | None, name: str) -> float | None:
    item = (scores or {}).get(name)
    value = item.get("score") if isinstance(item, dict) else None
    return float(value) if isinstance(value, int | float) else None


async def change_from_baseline(
    session: AsyncSession,
) -> dict[str, dict[str, list[ChangeSummaryOut]]]:
    """Per arm, per score, per protocol visit day: n, mean and SD of visit - baseline."""
    arm_of = {a.participant_id: a.arm for a in await repo.allocations(session)}
    baselines = await repo.latest_screenings(session)
    ended = await _intercurrent_event_dates(session)
    changes: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for pid, day, when, scores in await repo.visit_scores(session):
        baseline = baselines.get(pid)
        if pid not in arm_of or baseline is None or when > ended.get(pid, when):
            continue
        for name in SCORES:
            now, then = _score(scores, name), _score(baseline.scores, name)
            if now is not None and then is not None:
                changes[(arm_of[pid], name, day)].append(now - then)
    return {
        arm: {
            name: [
                _summary(day, changes.get((arm, name, day), [])) for day in protocol.VISIT_WINDOWS
            ]
            for name in SCORES
        }
        for arm in protocol.ARMS
    }


async def _intercurrent_event_dates(session: AsyncSession) -> dict[uuid.UUID, date]:
    """Per participant, the first event after which assessments no longer measure the
    treatment (a new liver; treatment abandoned): `stats.ENDS_CHANGE_FROM_BASELINE`."""
    ended: dict[uuid.UUID, date] = {}
    for pid, kind, when in await repo.outcomes(session):
        if kind in stats.ENDS_CHANGE_FROM_BASELINE:
            ended[pid] = min(when, ended.get(pid, when))
    return ended


async def lab_changes_by_arm(
    session: AsyncSession,
) -> dict[str, dict[str, list[ChangeSummaryOut]]]:
    """The biochemical endpoint: per analyte, arm and protocol visit day, n, mean and SD of
    the change from baseline in canonical units (`app.domain.lab_changes`)."""
    ended = await _intercurrent_event_dates(session)
    points = await repo.lab_points(session)
    values: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for a in await repo.allocations(session):
        mine = points.get(a.participant_id, [])
        for analyte, by_day in lab_changes(a.day1, mine, ended.get(a.participant_id)).items():
            for day, change in by_day.items():
                values[(analyte, a.arm, day)].append(float(change))
    return {
        analyte: {
            arm: [
                _summary(day, values.get((analyte, arm, day), [])) for day in protocol.VISIT_WINDOWS
            ]
            for arm in protocol.ARMS
        }
        for analyte in ANALYTES
    }


def _summary(day: int, values: Sequence[float]) -> ChangeSummaryOut:
    s = stats.change_from_baseline_summary(values)
    return ChangeSummaryOut(visit_day=day, n=s.n, mean=s.mean, sd=s.sd)


CSV_COLUMNS = ("arm", "measure", "visit_day", "n", "estimate", "ci_low", "ci_high", "mean", "sd")


def endpoints_csv(report: EndpointsReportOut) -> str:
    """One row per arm x measure (change from baseline: per visit day); log-rank last."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for arm, line in report.arms.items():
        writer.writerow([arm, "randomized", "", line.randomized, "", "", "", "", ""])
        for measure in ("survival_4w", "survival_12w", "adverse_outcome_4w", "adverse_outcome_12w"):
            e: EstimateOut = getattr(line, measure)
            writer.writerow(
                [
                    arm,
                    measure,
                    "",
                    line.randomized,
                    *_cells(e.estimate, e.ci_low, e.ci_high),
                    "",
                    "",
                ]
            )
        for name, summaries in line.change_from_baseline.items():
            for s in summaries:
                row = [arm, f"change_{name}", s.visit_day, s.n, "", "", ""]
                writer.writerow([*row, *_cells(s.mean, s.sd)])
    for analyte, arms in report.labs.items():
        for arm, summaries in arms.items():
            for s in summaries:
                row = [arm, f"change_lab_{analyte}", s.visit_day, s.n, "", "", ""]
                writer.writerow([*row, *_cells(s.mean, s.sd)])
    for measure in ("logrank_p", "adverse_outcome_4w_p", "adverse_outcome_12w_p"):
        p = getattr(report, measure)
        writer.writerow(["control_vs_exosome", measure, "", "", *_cells(p), "", "", "", ""])
    return out.getvalue()


def _cells(*values: float | None) -> list[str]:
    return ["" if v is None else repr(round(v, 6)) for v in values]
