"""A small trial of its own for the CDISC export tests, entered through the API.

Four participants randomized 40 days ago (blocks of 2: two per arm), a screen failure and an
eligible participant not yet randomized:

exosome
  E1  doses 1-4 (dose 1 short: a deviation); Day 4 and Day 28 visits; a SUSAR corrected from
      grade 2 to 3; ALT in ukat/L, a voided result; entecavir (CM), plasma exchange (PR)
  E2  never dosed (ASSIGNED, NOT TREATED); liver transplant on Day 10 (DS OTHER EVENT, PR)
control
  C1  Day 4 visit on Day 7 (out of window: a deviation); an AE; death on Day 20
  C2  nothing after randomization
SF  screen failure (age 76, and COSSH-ACLF II too high)
EL  eligible, consented, not randomized
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from app.domain.study_days import date_of_study_day
from tests.api.treatment_helpers import dose_body, local, visit_body
from tests.conftest import ADMIN_TOKEN, IsolatedApp
from tests.helpers import (
    Actor,
    make_actor,
    make_eligible,
    make_site,
    new_allocation_list,
    randomized_days_ago,
    screening_body,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DAYS_AGO = 40


class Trial:
    def __init__(self, iso: IsolatedApp, inv: Actor) -> None:
        self.iso, self.inv = iso, inv
        self.ids: dict[str, str] = {}
        self.day1 = date.today()
        self.records: dict[str, str] = {}  # names of notable records -> ids

    def on(self, day: int) -> date:
        return date_of_study_day(self.day1, day)

    async def post(self, name: str, suffix: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await self.iso.client.post(
            f"/api/v1/participants/{self.ids[name]}/{suffix}", json=body, headers=self.inv.headers
        )
        assert r.status_code == 201, (name, suffix, r.text)
        return dict(r.json())

    async def patch(self, name: str, suffix: str, body: dict[str, Any], version: int) -> None:
        r = await self.iso.client.patch(
            f"/api/v1/participants/{self.ids[name]}/{suffix}",
            json=body,
            headers={**self.inv.headers, "If-Match": f'"{version}"'},
        )
        assert r.status_code == 200, (name, suffix, r.text)

    async def get(self, path: str, who: dict[str, str] = ADMIN) -> Any:
        r = await self.iso.client.get(path, headers=who)
        assert r.status_code == 200, (path, r.text)
        return r.json()

    async def items(self, name: str, suffix: str) -> list[dict[str, Any]]:
        body = await self.get(f"/api/v1/participants/{self.ids[name]}/{suffix}?limit=100")
        return list(body["items"] if isinstance(body, dict) and "items" in body else body)


async def build_trial(iso: IsolatedApp) -> Trial:
    site = await make_site(iso.client, ADMIN)
    inv = await make_actor(iso.client, ADMIN, "investigator", site)
    t = Trial(iso, inv)
    await new_allocation_list(iso.client, ADMIN, block_sizes=[2])
    names = {"control": ["C1", "C2"], "exosome": ["E1", "E2"]}
    with pytest.MonkeyPatch.context() as mp:
        for _ in range(4):
            p, t.day1 = await randomized_days_ago(iso.client, ADMIN, inv, mp, DAYS_AGO)
            arm = (await t.get(f"/api/v1/participants/{p['id']}"))["arm"]
            t.ids[names[arm].pop(0)] = p["id"]
    await _not_randomized(t)
    await _exosome(t)
    await _control(t)
    return t


async def _not_randomized(t: Trial) -> None:
    r = await t.iso.client.post(
        "/api/v1/participants",
        json={"site_code": t.inv.site_code, "date_of_birth": "1950-01-15", "sex": "female"},
        headers=t.inv.headers,
    )
    t.ids["SF"] = r.json()["id"]
    labs = {**screening_body()["labs"], "urea": {"value": 30, "unit": "mmol/L"}}
    failed = await t.post("SF", "screening", screening_body(labs=labs))
    assert not failed["eligible"], failed
    t.ids["EL"] = (await make_eligible(t.iso.client, t.inv))["id"]


async def _exosome(t: Trial) -> None:
    short = dose_body(t.day1, 1, minutes=90, deviation_reason="infusion pump alarm")
    t.records["dose1"] = (await t.post("E1", "doses", short))["id"]
    for n in (2, 3, 4):
        await t.post("E1", "doses", dose_body(t.day1, n))
    await t.post("E1", "visits", visit_body(t.day1, 4))
    await t.post("E1", "visits", visit_body(t.day1, 28))
    ae = await t.post(
        "E1",
        "adverse-events",
        {
            "term": "Infusion-related fever",
            "onset_date": t.on(1).isoformat(),
            "end_date": t.on(3).isoformat(),
            "ctcae_grade": 2,
            "serious": True,
            "seriousness_criteria": ["hospitalization"],
            "relatedness": "possible",
            "expectedness": "unexpected",
            "action_taken": "interrupted",
            "outcome": "recovered",
            "aware_at": datetime.combine(t.on(1), time(12), UTC).isoformat(),
        },
    )
    t.records["ae"] = ae["id"]
    await t.patch(
        "E1", f"adverse-events/{ae['id']}", {"ctcae_grade": 3, "reason": "CTCAE regraded"}, 1
    )
    alt = {"analyte": "alt", "value": 1.2, "unit": "ukat/L", "reference_range_high": 0.67}
    await t.post("E1", "lab-results", {**alt, "collected_at": local(t.day1, 2, 8).isoformat()})
    wrong = await t.post(
        "E1", "lab-results", {**alt, "collected_at": local(t.day1, 3, 8).isoformat()}
    )
    t.records["voided_lab"] = wrong["id"]
    r = await t.iso.client.post(
        f"/api/v1/participants/{t.ids['E1']}/lab-results/{wrong['id']}/void",
        json={"reason": "sample of another patient"},
        headers={**t.inv.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    drug = {"category": "antiviral", "name": "Entecavir", "dose": "0.5 mg once daily"}
    drug |= {"route": "oral", "atc_code": "J05AF10", "start_date": t.on(-20).isoformat()}
    t.records["entecavir"] = (await t.post("E1", "treatments", drug))["id"]
    als = {"category": "artificial_liver_support", "name": "Plasma exchange"}
    als |= {"start_date": t.on(5).isoformat(), "end_date": t.on(5).isoformat()}
    await t.post("E1", "treatments", als)
    await t.post("E2", "outcomes", {"type": "liver_transplant", "date": t.on(10).isoformat()})


async def _control(t: Trial) -> None:
    late = visit_body(t.day1, 4, 7, deviation_reason="patient came late")
    await t.post("C1", "visits", late)
    await t.post(
        "C1",
        "adverse-events",
        {
            "term": "Nausea",
            "onset_date": t.on(2).isoformat(),
            "ctcae_grade": 1,
            "serious": False,
            "seriousness_criteria": [],
            "relatedness": "not_related",
            "expectedness": "expected",
            "action_taken": "none",
            "outcome": "recovering",
            "aware_at": datetime.combine(t.on(2), time(12), UTC).isoformat(),
        },
    )
    await t.post("C1", "outcomes", {"type": "death", "date": t.on(20).isoformat()})
