"""The amended endpoint definitions (SPEC §1, §2.6) on a trial of their own, against scipy.

Ten participants randomized 100 days ago, everything entered through the API:

control
  C1  Day 28 and Day 84 visits on target (Day 84 is t = 83)     -> censored at the landmark 84
  C2  early Day 84 visit on Day 78 (completed), death on Day 80  -> death t = 79 (item 2)
  C3  early Day 28 visit on Day 25, lost to follow-up that day   -> censored at the landmark 28
  C4  Day 84 visit on target                                     -> censored at 84 (item 1)
  C5  nothing after randomization                               -> censored at 0
exosome
  E1  liver transplant Day 10, Day 28 vital-status contact, death Day 50 -> death t = 49
  E2  Day 28 visit late (Day 31), Day 84 visit on target          -> censored at 84
  E3  treatment abandoned Day 20, Day 84 visit on Day 86          -> censored at 85
  E4  four doses (Days 1, 4, 7, 10), no visit                    -> censored at 9 (item 7)
  E5  death Day 6; dose 1 (Day 1) entered after the death         -> death t = 5 (item 4)

The expected values are computed here, by hand and independently with scipy, from the times
above: the service must reach them from the raw records.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from statistics import NormalDist
from typing import Any

import pytest
from scipy import stats

from app.domain.study_days import date_of_study_day
from tests.api.treatment_helpers import dose_body, local, visit_body
from tests.conftest import ADMIN_TOKEN, IsolatedApp
from tests.helpers import Actor, make_actor, make_site, new_allocation_list, randomized_days_ago

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DAYS_AGO = 100
Z = NormalDist().inv_cdf(0.975)
CONTROL = {
    "C1": (84, False),
    "C2": (79, True),
    "C3": (28, False),
    "C4": (84, False),
    "C5": (0, False),
}
EXOSOME = {
    "E1": (49, True),
    "E2": (84, False),
    "E3": (85, False),
    "E4": (9, False),
    "E5": (5, True),
}


class Trial:
    def __init__(self, iso: IsolatedApp, investigator: Actor) -> None:
        self.iso, self.inv = iso, investigator
        self.ids: dict[str, str] = {}
        self.day1 = date.today()

    def on(self, day: int) -> date:
        return date_of_study_day(self.day1, day)

    async def post(self, name: str, suffix: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await self.iso.client.post(
            f"/api/v1/participants/{self.ids[name]}/{suffix}", json=body, headers=self.inv.headers
        )
        assert r.status_code == 201, (name, suffix, r.text)
        return dict(r.json())

    async def visit(self, name: str, visit_day: int, on_day: int, **extra: Any) -> None:
        await self.post(name, "visits", {**visit_body(self.day1, visit_day, on_day), **extra})

    async def contact(self, name: str, visit_day: int, on_day: int) -> None:
        body = {"visit_day": visit_day, "visit_date": self.on(on_day).isoformat()}
        await self.post(name, "visits", {**body, "vital_status": "alive"})

    async def outcome(self, name: str, kind: str, day: int) -> None:
        await self.post(name, "outcomes", {"type": kind, "date": self.on(day).isoformat()})

    async def dose(self, name: str, n: int) -> None:
        await self.post(name, "doses", dose_body(self.day1, n))

    async def lab(
        self, name: str, day: int, value: float, unit: str = "U/L", hour: int = 8
    ) -> None:
        body = {
            "analyte": "alt",
            "value": value,
            "unit": unit,
            "collected_at": local(self.day1, day, hour).isoformat(),
        }
        await self.post(name, "lab-results", body)

    async def adverse_event(self, name: str, onset: date, **fields: Any) -> dict[str, Any]:
        body = {
            "term": "Event",
            "onset_date": onset.isoformat(),
            "ctcae_grade": 2,
            "serious": False,
            "seriousness_criteria": [],
            "relatedness": "not_related",
            "expectedness": "expected",
            "outcome": "recovered",
            "aware_at": datetime.combine(max(onset, self.day1), time(12), UTC).isoformat(),
            **fields,
        }
        return await self.post(name, "adverse-events", body)


@pytest.fixture(scope="module")
async def trial():
    async with IsolatedApp() as iso:
        site = await make_site(iso.client, ADMIN)
        investigator = await make_actor(iso.client, ADMIN, "investigator", site)
        t = Trial(iso, investigator)
        await new_allocation_list(iso.client, ADMIN, block_sizes=[2])  # 10 slots: 5 + 5
        names = {"control": list(CONTROL), "exosome": list(EXOSOME)}
        with pytest.MonkeyPatch.context() as mp:
            for _ in range(10):
                p, t.day1 = await randomized_days_ago(iso.client, ADMIN, investigator, mp, DAYS_AGO)
                arm = await iso.client.get(f"/api/v1/participants/{p['id']}", headers=ADMIN)
                t.ids[names[arm.json()["arm"]].pop(0)] = p["id"]
        await _control(t)
        await _exosome(t)
        await _labs(t)
        yield t


async def _control(t: Trial) -> None:
    await t.visit("C1", 28, 28)
    await t.visit("C1", 84, 84)
    await t.visit("C2", 84, 78)
    await t.outcome("C2", "death", 80)
    await t.visit("C3", 28, 25)
    await t.outcome("C3", "lost_to_follow_up", 25)
    await t.visit("C4", 84, 84)
    serious = {"ctcae_grade": 3, "serious": True, "seriousness_criteria": ["hospitalization"]}
    await t.adverse_event("C5", t.on(1), **serious)
    await t.adverse_event("C1", t.on(-1), ctcae_grade=1)  # before randomization


async def _exosome(t: Trial) -> None:
    await t.outcome("E1", "liver_transplant", 10)
    await t.contact("E1", 28, 28)
    await t.outcome("E1", "death", 50)
    await t.visit("E2", 28, 31)
    await t.visit("E2", 84, 84)
    await t.outcome("E3", "treatment_abandoned", 20)
    await t.visit("E3", 84, 86)  # assessed after the abandonment: left out of the changes
    for n in (1, 2, 3, 4):
        await t.dose("E4", n)
    await t.outcome("E5", "death", 6)
    await t.dose("E5", 1)  # entered after the death it preceded
    await t.adverse_event("E4", t.on(2), relatedness="possible")
    await t.adverse_event("E5", t.on(1), ctcae_grade=1)
    await t.adverse_event("E2", t.on(3))  # never dosed: outside the safety set


async def _labs(t: Trial) -> None:
    """ALT (direct results; albumin comes from the screenings' and visits' own labs)."""
    await t.lab("C1", -3, 200)  # an earlier baseline value
    await t.lab("C1", 1, 120)  # the baseline: the latest on or before Day 1
    await t.lab("C1", 26, 60)
    await t.lab("C1", 30, 50)  # the latest in the Day 28 window: change -70
    await t.lab("C4", -1, 100)
    await t.lab("C4", 28, 70)  # change -30
    await t.lab("C2", -8, 90)  # 9 days before Day 1: no baseline
    await t.lab("C2", 28, 80)
    await t.lab("E2", 0, 130)
    await t.lab("E2", 84, 1.0, unit="ukat/L")  # 60 U/L: change -70
    await t.lab("E3", 1, 150)
    await t.lab("E3", 28, 90)  # after the abandonment on Day 20: left out


def loglog(s: float, variance_sum: float) -> dict[str, Any]:
    se = math.sqrt(variance_sum) / abs(math.log(s))
    low, high = s ** math.exp(Z * se), s ** math.exp(-Z * se)
    return {
        "estimate": pytest.approx(s),
        "ci_low": pytest.approx(low),
        "ci_high": pytest.approx(high),
    }


def censored(times: dict[str, tuple[int, bool]]) -> Any:
    return stats.CensoredData(
        uncensored=[t for t, died in times.values() if died],
        right=[t for t, died in times.values() if not died],
    )


async def endpoints(trial: Trial) -> dict[str, Any]:
    r = await trial.iso.client.get("/api/v1/reports/endpoints", headers=ADMIN)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_survival_matches_the_hand_computed_kaplan_meier(trial):
    body = await endpoints(trial)
    control, exosome = body["arms"]["control"], body["arms"]["exosome"]
    assert control["randomized"] == exosome["randomized"] == 5
    assert control["survival_4w"] == {"estimate": 1.0, "ci_low": None, "ci_high": None}
    # control: the only death at t=79 with C1, C2, C4 at risk (C3 left at 28, C5 at 0)
    assert control["survival_12w"] == loglog(2 / 3, 1 / (3 * 2))
    # exosome: death t=5 with all 5 at risk (E4's doses keep it in); death t=49 with 3
    assert exosome["survival_4w"] == loglog(4 / 5, 1 / (5 * 4))
    assert exosome["survival_12w"] == loglog(8 / 15, 1 / (5 * 4) + 1 / (3 * 2))


async def test_survival_matches_scipy(trial):
    body = await endpoints(trial)
    for arm, times in (("control", CONTROL), ("exosome", EXOSOME)):
        sf = stats.ecdf(censored(times)).sf
        for key, day in (("survival_4w", 28), ("survival_12w", 84)):
            assert body["arms"][arm][key]["estimate"] == pytest.approx(sf.evaluate(day)), key
    expected = stats.logrank(x=censored(CONTROL), y=censored(EXOSOME)).pvalue
    assert body["logrank_p"] == pytest.approx(expected)


async def test_adverse_outcomes_with_fisher_exact_p(trial):
    body = await endpoints(trial)
    control, exosome = body["arms"]["control"], body["arms"]["exosome"]
    # week 4: exosome transplant t=9, death t=5, abandonment t=19; week 12 adds C2's death
    assert (
        control["adverse_outcome_4w"]["estimate"],
        exosome["adverse_outcome_4w"]["estimate"],
    ) == (
        0.0,
        pytest.approx(0.6),
    )
    assert control["adverse_outcome_12w"]["estimate"] == pytest.approx(0.2)
    assert exosome["adverse_outcome_12w"]["estimate"] == pytest.approx(0.6)
    # hypergeometric by hand: 4w P(0 control events) = 10/120, two-sided (10 + 10) / 120
    assert body["adverse_outcome_4w_p"] == pytest.approx(20 / 120)
    assert body["adverse_outcome_12w_p"] == pytest.approx(110 / 210)
    assert body["adverse_outcome_4w_p"] == pytest.approx(
        stats.fisher_exact([[0, 5], [3, 2]]).pvalue
    )


async def test_consort_counts_the_late_entered_dose(trial):
    r = await trial.iso.client.get("/api/v1/reports/consort", headers=ADMIN)
    exosome = r.json()["arms"]["exosome"]
    assert exosome["received_allocated_intervention"] == 2  # E4, and E5's dose before death
    assert exosome["died"] == 2
    assert r.json()["arms"]["control"]["died"] == 1


async def test_safety_counts_treatment_emergent_events_over_the_safety_set(trial):
    r = await trial.iso.client.get("/api/v1/reports/safety", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    control, exosome = body["arms"]["control"], body["arms"]["exosome"]
    assert (control["participants"], exosome["participants"]) == (5, 2)
    assert (control["events"], control["serious_events"]) == (1, 1)
    assert (control["grade_3_or_higher_events"], control["related_events"]) == (1, 0)
    assert (exosome["events"], exosome["serious_events"]) == (2, 0)
    assert (exosome["grade_3_or_higher_events"], exosome["related_events"]) == (0, 1)
    assert body["excluded"] == {
        "events_not_treatment_emergent": 1,
        "events_outside_safety_set": 1,
        "exosome_participants_never_dosed": 3,
    }


async def test_each_event_says_whether_it_is_treatment_emergent(trial):
    r = await trial.iso.client.get("/api/v1/adverse-events", headers=ADMIN)
    emergent = {e["study_id"]: e["treatment_emergent"] for e in r.json()["items"]}
    assert sorted(emergent.values()) == [False, False, True, True, True]


async def test_change_from_baseline_leaves_out_assessments_after_abandonment(trial):
    body = await endpoints(trial)
    control = body["arms"]["control"]["change_from_baseline"]["cossh_aclf_ii"]
    exosome = body["arms"]["exosome"]["change_from_baseline"]["cossh_aclf_ii"]
    assert {s["visit_day"]: s["n"] for s in control}[84] == 3  # C1, C2, C4
    assert {s["visit_day"]: s["n"] for s in control}[28] == 2  # C1, C3
    assert {s["visit_day"]: s["n"] for s in exosome}[84] == 1  # E2 (not E3, abandoned)


async def test_biochemical_endpoint_changes_in_canonical_units(trial):
    labs = (await endpoints(trial))["labs"]
    alt = {arm: {s["visit_day"]: s for s in days} for arm, days in labs["alt"].items()}
    assert (alt["control"][28]["n"], alt["control"][28]["mean"]) == (2, pytest.approx(-50.0))
    assert alt["control"][28]["sd"] == pytest.approx(math.sqrt(800))
    assert alt["control"][84]["n"] == 0
    assert (alt["exosome"][84]["n"], alt["exosome"][84]["mean"]) == (1, pytest.approx(-70.0))
    assert alt["exosome"][28]["n"] == 0  # E3's value came after the abandonment
    # albumin from the screenings' (30 g/L) and the Day 28 visits' (32 g/L) own labs
    albumin = {s["visit_day"]: s for s in labs["albumin"]["control"]}
    assert (albumin[28]["n"], albumin[28]["mean"], albumin[28]["sd"]) == (2, 2.0, 0.0)
    assert set(labs) >= {"alt", "inr", "crp", "urea_nitrogen"}  # every analyte of SPEC §7
