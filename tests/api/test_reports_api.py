"""Reports over HTTP on a database of their own (exact counts): endpoints with a hand-computed
Kaplan-Meier, CSV, the KM plot, CONSORT, safety, and the role matrix."""

from __future__ import annotations

import csv
import io
import math
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pytest
from scipy import stats

from tests.conftest import ADMIN_TOKEN, IsolatedApp
from tests.helpers import (
    Actor,
    insert_given_dose,
    insert_visit,
    make_actor,
    make_eligible,
    make_participant,
    make_site,
    new_allocation_list,
    randomized_days_ago,
    screening_body,
)

Z = NormalDist().inv_cdf(0.975)
DAYS_AGO = 100
SEED = "km-report-test-seed-for-eight-participants"  # first 8 slots: 4 control, 4 exosome
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DOCS = Path(__file__).resolve().parents[2] / "docs"


class Cohort:
    """Control: death t=5, death t=20, withdrawn t=10, alive at t=90 (Day 84 visit).
    Exosome: transplant t=3 then death t=40; abandoned t=15; alive t=28 then death t=60;
    alive t=28 and lost to follow-up t=90. Doses given to the first three exosome patients."""

    def __init__(self, iso: IsolatedApp, investigator: Actor) -> None:
        self.iso = iso
        self.investigator = investigator
        self.arms: dict[str, list[dict[str, Any]]] = {"control": [], "exosome": []}
        self.day1: date | None = None
        self.baseline: dict[str, dict[str, Any]] = {}
        self.screen_failure_codes: set[str] = set()

    async def outcome(self, p: dict[str, Any], kind: str, t: int) -> None:
        assert self.day1 is not None
        r = await self.iso.client.post(
            f"/api/v1/participants/{p['id']}/outcomes",
            json={"type": kind, "date": (self.day1 + timedelta(days=t)).isoformat()},
            headers=self.investigator.headers,
        )
        assert r.status_code == 201, r.text

    async def visit(self, p: dict[str, Any], day: int, t: int, deltas: dict[str, float]) -> None:
        assert self.day1 is not None
        scores = {k: {"score": self.baseline[p["id"]][k]["score"] + d} for k, d in deltas.items()}
        await insert_visit(
            self.iso.db, p["id"], day, self.day1 + timedelta(days=t), "alive", scores
        )

    async def dose(self, p: dict[str, Any]) -> None:
        assert self.day1 is not None
        start = datetime.combine(self.day1, time(4), UTC)
        await insert_given_dose(self.iso.db, p["id"], start)

    async def adverse_event(self, p: dict[str, Any], t: int, **fields: Any) -> str:
        assert self.day1 is not None
        onset = self.day1 + timedelta(days=t)
        body = {
            "term": "Event",
            "onset_date": onset.isoformat(),
            "ctcae_grade": 2,
            "serious": False,
            "seriousness_criteria": [],
            "relatedness": "not_related",
            "expectedness": "expected",
            "outcome": "recovered",
            "aware_at": datetime.combine(onset, time(12), UTC).isoformat(),
            **fields,
        }
        r = await self.iso.client.post(
            f"/api/v1/participants/{p['id']}/adverse-events",
            json=body,
            headers=self.investigator.headers,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


@pytest.fixture(scope="module")
async def cohort():
    async with IsolatedApp() as iso:
        client = iso.client
        site = await make_site(client, ADMIN)
        investigator = await make_actor(client, ADMIN, "investigator", site)
        c = Cohort(iso, investigator)
        await new_allocation_list(client, ADMIN, seed=SEED)
        with pytest.MonkeyPatch.context() as mp:
            for _ in range(8):
                p, c.day1 = await randomized_days_ago(client, ADMIN, investigator, mp, DAYS_AGO)
                arm = (await client.get(f"/api/v1/participants/{p['id']}", headers=ADMIN)).json()
                c.arms[arm["arm"]].append(p)
                screening = await client.get(
                    f"/api/v1/participants/{p['id']}/screening", headers=ADMIN
                )
                c.baseline[p["id"]] = screening.json()["items"][-1]["scores"]
        assert [len(v) for v in c.arms.values()] == [4, 4]
        # not randomized: one screen failure, one eligible without randomization (with an AE)
        failed = await make_participant(client, investigator, dob="1940-01-01")
        r = await client.post(
            f"/api/v1/participants/{failed['id']}/screening",
            json=screening_body(aclf_diagnosis_confirmed=False),
            headers=investigator.headers,
        )
        assert r.status_code == 201, r.text
        assert not r.json()["eligible"]
        c.screen_failure_codes = {reason.split(":")[0] for reason in r.json()["reasons"]}
        waiting = await make_eligible(client, investigator)
        r = await client.post(
            f"/api/v1/participants/{waiting['id']}/adverse-events",
            json={
                "term": "Headache",
                "onset_date": date.today().isoformat(),
                "ctcae_grade": 1,
                "serious": False,
                "seriousness_criteria": [],
                "relatedness": "not_related",
                "expectedness": "expected",
                "outcome": "recovered",
                "aware_at": datetime.now(UTC).isoformat(),
            },
            headers=investigator.headers,
        )
        assert r.status_code == 201, r.text

        c1, c2, c3, c4 = c.arms["control"]
        await c.outcome(c1, "death", 5)
        await c.outcome(c2, "death", 20)
        await c.outcome(c3, "withdrawn", 10)
        await c.visit(c4, 84, 90, {"cossh_aclf_ii": -0.5})
        await c.adverse_event(c1, 2)
        fatal = {"ctcae_grade": 5, "outcome": "fatal", "serious": True}
        await c.adverse_event(c1, 5, seriousness_criteria=["death"], **fatal)

        e1, e2, e3, e4 = c.arms["exosome"]
        for p in (e1, e2, e3):
            await c.dose(p)
        await c.outcome(e1, "liver_transplant", 3)
        await c.outcome(e1, "death", 40)
        await c.outcome(e2, "treatment_abandoned", 15)
        await c.visit(e3, 28, 28, {"cossh_aclf_ii": -1.0, "child_pugh": 1})
        await c.outcome(e3, "death", 60)
        await c.visit(e4, 28, 28, {"cossh_aclf_ii": -2.0, "child_pugh": 1})
        await c.outcome(e4, "lost_to_follow_up", 90)
        susar = {
            "ctcae_grade": 3,
            "serious": True,
            "seriousness_criteria": ["hospitalization"],
            "relatedness": "probable",
            "expectedness": "unexpected",
        }
        await c.adverse_event(e1, 1, **susar)
        voided = await c.adverse_event(e2, 1, ctcae_grade=4)
        await iso.db.execute(
            "UPDATE adverse_events SET voided_at = now(), void_reason = 'entered in error'"
            " WHERE id = $1",
            uuid.UUID(voided),
        )
        yield c


def loglog(s: float, variance_sum: float) -> tuple[float, float]:
    se = math.sqrt(variance_sum) / abs(math.log(s))
    return s ** math.exp(Z * se), s ** math.exp(-Z * se)


def wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = p + Z**2 / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return (centre - half) / (1 + Z**2 / n), (centre + half) / (1 + Z**2 / n)


def approx(estimate: float | None, low: float | None, high: float | None) -> dict[str, Any]:
    return {
        "estimate": pytest.approx(estimate) if estimate is not None else None,
        "ci_low": pytest.approx(low) if low is not None else None,
        "ci_high": pytest.approx(high) if high is not None else None,
    }


async def test_endpoints_match_the_hand_computed_kaplan_meier(cohort):
    r = await cohort.iso.client.get("/api/v1/reports/endpoints", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    control, exosome = body["arms"]["control"], body["arms"]["exosome"]
    assert control["randomized"] == exosome["randomized"] == 4
    # control: 4 at risk, death t=5 (3/4), censored 10, death t=20 with 2 at risk -> 3/8
    s = 3 / 8
    expected = approx(s, *loglog(s, 1 / (4 * 3) + 1 / (2 * 1)))
    assert control["survival_4w"] == expected
    assert control["survival_12w"] == expected  # followed to t=90
    # exosome: censored 15; death t=40 (3 at risk) -> 2/3; death t=60 (2 at risk) -> 1/3
    assert exosome["survival_4w"] == {"estimate": 1.0, "ci_low": None, "ci_high": None}
    s = 1 / 3
    assert exosome["survival_12w"] == approx(s, *loglog(s, 1 / (3 * 2) + 1 / (2 * 1)))
    # adverse outcomes: control deaths 5, 20; exosome transplant 3, abandonment 15, death 60
    assert control["adverse_outcome_4w"] == approx(0.5, *wilson(2, 4))
    assert control["adverse_outcome_12w"] == approx(0.5, *wilson(2, 4))
    assert exosome["adverse_outcome_4w"] == approx(0.5, *wilson(2, 4))
    assert exosome["adverse_outcome_12w"] == approx(0.75, *wilson(3, 4))
    expected_p = stats.logrank(
        x=stats.CensoredData(uncensored=[5, 20], right=[10, 90]),
        y=stats.CensoredData(uncensored=[40, 60], right=[15, 90]),
    ).pvalue
    assert body["logrank_p"] == pytest.approx(expected_p)
    cossh = {s["visit_day"]: s for s in exosome["change_from_baseline"]["cossh_aclf_ii"]}
    assert cossh[28]["n"] == 2
    assert cossh[28]["mean"] == pytest.approx(-1.5)
    assert cossh[28]["sd"] == pytest.approx(math.sqrt(0.5))
    assert cossh[4] == {"visit_day": 4, "n": 0, "mean": None, "sd": None}
    pugh = {s["visit_day"]: s for s in exosome["change_from_baseline"]["child_pugh"]}
    assert pugh[28]["mean"] == pytest.approx(1.0)
    day84 = {s["visit_day"]: s for s in control["change_from_baseline"]["cossh_aclf_ii"]}[84]
    assert (day84["n"], day84["mean"], day84["sd"]) == (1, pytest.approx(-0.5), None)


async def test_endpoints_as_csv(cohort):
    r = await cohort.iso.client.get(
        "/api/v1/reports/endpoints", headers={**ADMIN, "Accept": "text/csv"}
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    analytes = 23  # the labs of SPEC §7, per arm and visit day
    assert len(rows) == 2 * (1 + 4 + 3 * 6) + 2 * analytes * 6 + 3  # + log-rank, 2 Fisher
    by_key = {(row["arm"], row["measure"], row["visit_day"]): row for row in rows}
    assert float(by_key[("control", "survival_4w", "")]["estimate"]) == pytest.approx(0.375)
    assert by_key[("exosome", "survival_4w", "")]["ci_low"] == ""
    assert by_key[("exosome", "change_cossh_aclf_ii", "28")]["n"] == "2"
    assert by_key[("control_vs_exosome", "logrank_p", "")]["estimate"] != ""


async def test_km_plot_is_a_png(cohort):
    r = await cohort.iso.client.get("/api/v1/reports/endpoints/km.png", headers=ADMIN)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n")
    DOCS.mkdir(exist_ok=True)
    (DOCS / "km-example.png").write_bytes(r.content)  # the figure shown in the docs


async def test_consort(cohort):
    r = await cohort.iso.client.get("/api/v1/reports/consort", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["assessed_for_eligibility"] == 10
    assert body["randomized"] == 8
    excluded = body["excluded"]
    assert excluded["total"] == 2
    assert excluded["eligible_not_randomized"] == 1
    assert excluded["screen_failed"]["participants"] == 1
    assert set(excluded["screen_failed"]["by_reason"]) == cohort.screen_failure_codes
    assert len(cohort.screen_failure_codes) >= 2
    control, exosome = body["arms"]["control"], body["arms"]["exosome"]
    assert control["allocated"] == control["received_allocated_intervention"] == 4
    assert exosome["received_allocated_intervention"] == 3
    assert exosome["did_not_receive_allocated_intervention"] == 1
    assert (control["lost_to_follow_up"], exosome["lost_to_follow_up"]) == (0, 1)
    assert control["discontinued"] == {"total": 1, "withdrawn": 1, "treatment_abandoned": 0}
    assert exosome["discontinued"] == {"total": 1, "withdrawn": 0, "treatment_abandoned": 1}
    assert (control["died"], exosome["died"], exosome["liver_transplant"]) == (2, 2, 1)
    assert control["analysed"] == exosome["analysed"] == 4


async def test_safety(cohort):
    r = await cohort.iso.client.get("/api/v1/reports/safety", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    control, exosome = body["arms"]["control"], body["arms"]["exosome"]
    assert control == {
        "participants": 4,
        "participants_with_ae": 1,
        "participants_with_sae": 1,
        "events": 2,
        "serious_events": 1,
        "grade_3_or_higher_events": 1,
        "related_events": 0,
        "events_by_grade": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
        "susars": 0,
        "fatal_events": 1,
        "deaths": 2,
    }
    assert exosome["participants"] == 3  # the safety set: the three dosed
    assert exosome["events"] == 1  # the voided event does not count
    assert exosome["events_by_grade"]["4"] == 0
    assert (exosome["susars"], exosome["participants_with_sae"], exosome["deaths"]) == (1, 1, 2)
    assert body["not_randomized"]["events"] == 1
    assert body["not_randomized"]["participants_with_ae"] == 1


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", True),
        ("statistician", True),
        ("dsmb", True),
        ("monitor", True),
        ("investigator", False),
        ("coordinator", False),
        ("integration", False),
    ],
)
async def test_role_matrix(cohort, role, allowed):
    client = cohort.iso.client
    site = cohort.investigator.site_code
    actor = await make_actor(
        client,
        ADMIN,
        role,
        site if role in {"investigator", "coordinator", "integration"} else None,
    )
    for path in ("endpoints", "endpoints/km.png", "consort", "safety"):
        r = await client.get(f"/api/v1/reports/{path}", headers=actor.headers)
        assert r.status_code == (200 if allowed else 403), (path, r.text)
    r = await client.get("/api/v1/reports/safety")
    assert r.status_code == 401
