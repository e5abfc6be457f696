"""Trial reports: endpoints by arm (ITT), change from baseline, CONSORT flow, safety.

The statistics are the domain's (`app.domain.endpoints`); this module turns the stored records
into its inputs. Voided records never count.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.db.models import AdverseEvent
from app.db.repositories import reports as repo
from app.domain import endpoints as stats
from app.domain import protocol
from app.domain.adverse_events import is_fatal
from app.domain.safety_analysis import (
    Exposure,
    in_safety_set,
    is_related,
    is_severe,
    is_treatment_emergent,
)
from app.schemas.reports import (
    ArmEndpointsOut,
    ChangeSummaryOut,
    ConsortArmOut,
    ConsortOut,
    DiscontinuedOut,
    EndpointsReportOut,
    EstimateOut,
    ExcludedOut,
    SafetyExclusionsOut,
    SafetyGroupOut,
    SafetyReportOut,
    ScreenFailuresOut,
)
from app.services.adverse_events import stored_input

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
        methods=METHODS,
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
    for measure in ("logrank_p", "adverse_outcome_4w_p", "adverse_outcome_12w_p"):
        p = getattr(report, measure)
        writer.writerow(["control_vs_exosome", measure, "", "", *_cells(p), "", "", "", ""])
    return out.getvalue()


def _cells(*values: float | None) -> list[str]:
    return ["" if v is None else repr(round(v, 6)) for v in values]


# --- Kaplan-Meier plot ----------------------------------------------------------------------


def km_curve(records: Sequence[stats.SurvivalRecord]) -> tuple[list[int], list[float]]:
    """The KM step function at every day from 0 to the arm's last observation."""
    if not records:
        return [], []
    days, values = [], []
    for t in range(max(r.time_days for r in records) + 1):
        estimate = stats.kaplan_meier_at(records, t).estimate
        if estimate is None:
            break
        days.append(t)
        values.append(estimate)
    return days, values


def km_png(records: Sequence[stats.SurvivalRecord]) -> bytes:
    """Kaplan-Meier curves per arm (censorings marked '+') as PNG (Agg, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for arm, color in zip(protocol.ARMS, ("tab:blue", "tab:orange"), strict=True):
        mine = [r for r in records if r.arm == arm]
        days, values = km_curve(mine)
        if not days:
            continue
        axes.step(
            [0, *days], [1.0, *values], where="post", color=color, label=f"{arm} (n={len(mine)})"
        )
        censored = [r.time_days for r in mine if not r.event and r.time_days <= days[-1]]
        axes.plot(censored, [values[t] for t in censored], "+", color=color, markersize=10)
    for day in (protocol.SURVIVAL_4W_DAY, protocol.SURVIVAL_12W_DAY):
        axes.axvline(day, color="grey", linestyle=":", linewidth=1)
    axes.set_xlim(0, protocol.SURVIVAL_12W_DAY + protocol.VISIT_WINDOWS[84].days_after)
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("days from randomization (Day 1 = 0)")
    axes.set_ylabel("overall survival S(t)")
    axes.set_title(f"{protocol.TRIAL_CODE}: Kaplan-Meier overall survival (ITT)")
    axes.legend(loc="lower left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


# --- CONSORT --------------------------------------------------------------------------------

CONSORT_DEFINITIONS = {
    "assessed_for_eligibility": "participants with at least one screening assessment",
    "excluded": "assessed but not randomized: screen failures (by failed criterion code) "
    "and eligible participants not randomized",
    "received_allocated_intervention": "exosome: at least one dose given; control: everyone "
    "allocated (SMT)",
    "lost_to_follow_up": "a lost_to_follow_up outcome is recorded",
    "discontinued": "a withdrawn or treatment_abandoned outcome is recorded",
    "analysed": "intention to treat: everyone randomized",
}


async def consort(session: AsyncSession) -> ConsortOut:
    screenings = await repo.latest_screenings(session)
    statuses = await repo.statuses(session)
    allocations = await repo.allocations(session)
    dosed = set(await repo.dose_dates(session))
    kinds: dict[uuid.UUID, set[str]] = defaultdict(set)
    for pid, kind, _ in await repo.outcomes(session):
        kinds[pid].add(kind)
    failed = [s for pid, s in screenings.items() if statuses.get(pid) == "screen_failed"]
    reasons = Counter(code for s in failed for code in {r.split(":", 1)[0] for r in s.reasons})
    randomized = {a.participant_id for a in allocations}
    waiting = sum(
        1 for pid in screenings if statuses.get(pid) == "eligible" and pid not in randomized
    )
    arms = {
        arm: _consort_arm(
            [a.participant_id for a in allocations if a.arm == arm], arm, dosed, kinds, statuses
        )
        for arm in protocol.ARMS
    }
    return ConsortOut(
        assessed_for_eligibility=len(screenings),
        excluded=ExcludedOut(
            total=len(failed) + waiting,
            screen_failed=ScreenFailuresOut(
                participants=len(failed), by_reason=dict(sorted(reasons.items()))
            ),
            eligible_not_randomized=waiting,
        ),
        randomized=len(allocations),
        arms=arms,
        definitions=CONSORT_DEFINITIONS,
    )


def _consort_arm(
    members: list[uuid.UUID],
    arm: str,
    dosed: set[uuid.UUID],
    kinds: dict[uuid.UUID, set[str]],
    statuses: dict[uuid.UUID, str],
) -> ConsortArmOut:
    def having(kind: str) -> int:
        return sum(1 for pid in members if kind in kinds[pid])

    received = len(members) if arm == stats.CONTROL_ARM else sum(1 for p in members if p in dosed)
    withdrawn, abandoned = having("withdrawn"), having("treatment_abandoned")
    discontinued = sum(1 for p in members if kinds[p] & {"withdrawn", "treatment_abandoned"})
    return ConsortArmOut(
        allocated=len(members),
        received_allocated_intervention=received,
        did_not_receive_allocated_intervention=len(members) - received,
        lost_to_follow_up=having("lost_to_follow_up"),
        discontinued=DiscontinuedOut(
            total=discontinued, withdrawn=withdrawn, treatment_abandoned=abandoned
        ),
        liver_transplant=having("liver_transplant"),
        died=having("death"),
        completed=sum(1 for p in members if statuses.get(p) == "completed"),
        analysed=len(members),
        excluded_from_analysis=0,
    )


# --- safety ---------------------------------------------------------------------------------

SAFETY_DEFINITIONS = {
    "treatment_emergent": "onset on or after Day 1 and, in the exosome arm, on or after the "
    "date of the first dose given",
    "safety_set": "every randomized control participant and every exosome participant with "
    "at least one dose given",
    "related": "relatedness possible, probable or definite",
    "grade_3_or_higher": "CTCAE v5 grade 3, 4 or 5",
}


async def safety(session: AsyncSession) -> SafetyReportOut:
    allocations = await repo.allocations(session)
    doses = await repo.dose_dates(session)
    exposure = {
        a.participant_id: Exposure(a.arm, a.day1, doses[a.participant_id][0])
        if a.participant_id in doses
        else Exposure(a.arm, a.day1, None)
        for a in allocations
    }
    died = {pid for pid, kind, _ in await repo.outcomes(session) if kind == "death"}
    events = await repo.adverse_events(session)
    in_set = {pid for pid, e in exposure.items() if in_safety_set(e)}
    emergent = [
        e
        for e in events
        if e.participant_id in in_set
        and is_treatment_emergent(e.onset_date, exposure[e.participant_id])
    ]
    arms = {
        arm: _safety_group(
            [e for e in emergent if exposure[e.participant_id].arm == arm],
            members=[pid for pid in in_set if exposure[pid].arm == arm],
            died=died,
        )
        for arm in protocol.ARMS
    }
    outside = [e for e in events if e.participant_id not in exposure]
    excluded = SafetyExclusionsOut(
        events_not_treatment_emergent=sum(1 for e in events if e.participant_id in in_set)
        - len(emergent),
        events_outside_safety_set=sum(
            1 for e in events if e.participant_id in exposure and e.participant_id not in in_set
        ),
        exosome_participants_never_dosed=sum(
            1 for pid, e in exposure.items() if e.arm == stats.EXOSOME_ARM and pid not in in_set
        ),
    )
    return SafetyReportOut(
        arms=arms,
        excluded=excluded,
        not_randomized=_safety_group(outside, sorted({e.participant_id for e in outside}), died),
        definitions=SAFETY_DEFINITIONS,
    )


def _safety_group(
    events: list[AdverseEvent], members: Iterable[uuid.UUID], died: set[uuid.UUID]
) -> SafetyGroupOut:
    people = list(members)
    grades = Counter(e.ctcae_grade for e in events)
    return SafetyGroupOut(
        participants=len(people),
        participants_with_ae=len({e.participant_id for e in events}),
        participants_with_sae=len({e.participant_id for e in events if e.serious}),
        events=len(events),
        serious_events=sum(1 for e in events if e.serious),
        grade_3_or_higher_events=sum(1 for e in events if is_severe(e.ctcae_grade)),
        related_events=sum(1 for e in events if is_related(e.relatedness)),
        events_by_grade={str(g): grades.get(g, 0) for g in range(1, 6)},
        susars=sum(1 for e in events if e.susar),
        fatal_events=sum(1 for e in events if _fatal(e)),
        deaths=sum(1 for p in people if p in died),
    )


def _fatal(event: AdverseEvent) -> bool:
    return is_fatal(stored_input(event))
