"""The findings of the independent clinical review (issue 9), one test each, over HTTP.

Each test reproduced a wrong result of the first release and states the amended rule of SPEC
§1, §2.1, §2.2, §2.4 and §2.6. The endpoint statistics (items 1 and 7) and the safety set
(item 9) need exact counts, so they live in `test_endpoint_scenarios_api.py`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app import clock
from app.domain import protocol
from app.domain.study_days import date_of_study_day
from tests.api.treatment_helpers import (
    dose_body,
    randomized,
    visit_body,
)
from tests.conftest import unique
from tests.helpers import (
    make_actor,
    make_participant,
    randomized_days_ago,
    screening_body,
)


def url(pid: str, suffix: str) -> str:
    return f"/api/v1/participants/{pid}/{suffix}"


def fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


async def outcome(client, actor, pid: str, kind: str, on: date):
    return await client.post(
        url(pid, "outcomes"), json={"type": kind, "date": on.isoformat()}, headers=actor.headers
    )


# --- item 2: a death can always be recorded (completed included) ---


async def test_death_after_an_early_day84_visit_is_recorded(
    client, admin_headers, investigator, monkeypatch
):
    p, day1 = await randomized_days_ago(client, admin_headers, investigator, monkeypatch, 90)
    h = investigator.headers
    early = visit_body(day1, 84, on_day=78)  # Day 78 is inside the Day 84 window (77-91)
    r = await client.post(url(p["id"], "visits"), json=early, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["participant_status"] == "completed"
    r = await outcome(client, investigator, p["id"], "death", date_of_study_day(day1, 80))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "died"
    r = await outcome(client, investigator, p["id"], "withdrawn", date_of_study_day(day1, 81))
    assert r.status_code == 409  # only a death may follow; nothing follows a death


# --- item 3: the ULN criterion adds to the 171 umol/L threshold ---


async def test_bilirubin_above_171_is_enough_whatever_the_uln(client, investigator):
    p = await make_participant(client, investigator)
    labs = screening_body()["labs"] | {"total_bilirubin": {"value": 200, "unit": "umol/L"}}
    body = screening_body(labs=labs, total_bilirubin_uln={"value": 21, "unit": "umol/L"})
    r = await client.post(url(p["id"], "screening"), json=body, headers=investigator.headers)
    assert r.status_code == 201, r.text
    assert r.json()["eligible"], r.json()["reasons"]


async def test_ten_times_a_low_uln_is_enough_below_171(client, investigator):
    p = await make_participant(client, investigator)
    labs = screening_body()["labs"] | {"total_bilirubin": {"value": 150, "unit": "umol/L"}}
    body = screening_body(labs=labs, total_bilirubin_uln={"value": 15, "unit": "umol/L"})
    r = await client.post(url(p["id"], "screening"), json=body, headers=investigator.headers)
    assert r.json()["eligible"], r.json()["reasons"]
    body = screening_body(labs=labs)  # no ULN: 150 < 171
    q = await make_participant(client, investigator)
    r = await client.post(url(q["id"], "screening"), json=body, headers=investigator.headers)
    assert not r.json()["eligible"]


# --- item 4: a dose given before a terminal event may be entered after it ---


async def test_dose_given_before_death_is_entered_after_it(
    client, admin_headers, investigator, travel
):
    pid, day1 = await randomized(client, admin_headers, investigator)
    h = investigator.headers
    travel(day1, 3)
    r = await outcome(client, investigator, pid, "death", date_of_study_day(day1, 2))
    assert r.status_code == 201, r.text
    r = await client.post(url(pid, "doses"), json=dose_body(day1, 1), headers=h)
    assert r.status_code == 201, r.text
    travel(day1, 4)
    r = await client.post(url(pid, "doses"), json=dose_body(day1, 2), headers=h)
    assert r.status_code == 409  # it would start after the death
    assert "death" in r.json()["detail"]
    ae = {
        "term": "Infusion reaction",
        "onset_date": day1.isoformat(),
        "ctcae_grade": 2,
        "serious": False,
        "seriousness_criteria": [],
        "relatedness": "probable",  # possible only now that the dose is on record
        "expectedness": "expected",
        "outcome": "recovered",
        "aware_at": datetime.combine(day1, time(12), UTC).isoformat(),
    }
    r = await client.post(url(pid, "adverse-events"), json=ae, headers=h)
    assert r.status_code == 201, r.text


async def test_dose_not_given_is_recorded_after_withdrawal_but_not_one_never_due(
    client, admin_headers, investigator, travel
):
    pid, day1 = await randomized(client, admin_headers, investigator)
    h = investigator.headers
    travel(day1, 6)
    r = await outcome(client, investigator, pid, "withdrawn", date_of_study_day(day1, 5))
    assert r.status_code == 201, r.text
    for n in (1, 2):
        r = await client.post(
            url(pid, "doses"),
            json={"dose_number": n, "status": "not_administered", "reason": "refused"},
            headers=h,
        )
        assert r.status_code == 201, (n, r.text)
    r = await client.post(  # dose 3's window opens on Day 6, after the withdrawal
        url(pid, "doses"),
        json={"dose_number": 3, "status": "not_administered", "reason": "withdrawn"},
        headers=h,
    )
    assert r.status_code == 409
    schedule = (await client.get(url(pid, "dosing-schedule"), headers=h)).json()
    assert [d["status"] for d in schedule["doses"]] == [
        "not_administered",
        "not_administered",
        "not_applicable",
        "not_applicable",
    ]
    assert schedule["next_dose"] is None


# --- item 5: a visit saying dead needs the recorded death ---


async def test_dead_at_a_visit_needs_the_death_outcome(client, admin_headers, investigator, travel):
    pid, day1 = await randomized(client, admin_headers, investigator, arm=None)
    h = investigator.headers
    travel(day1, 8)
    contact = {"visit_day": 7, "visit_date": date_of_study_day(day1, 7).isoformat()}
    r = await client.post(url(pid, "visits"), json={**contact, "vital_status": "dead"}, headers=h)
    assert r.status_code == 409
    assert "death" in r.json()["detail"]
    r = await outcome(client, investigator, pid, "death", date_of_study_day(day1, 6))
    assert r.status_code == 201, r.text
    with_labs = visit_body(day1, 7, vital_status="dead")
    r = await client.post(url(pid, "visits"), json=with_labs, headers=h)
    assert r.status_code == 422  # a visit finding the participant dead carries no assessments
    assert {"labs", "he_grade", "ascites", "symptoms"} <= fields(r)
    r = await client.post(url(pid, "visits"), json={**contact, "vital_status": "dead"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["scores"] == {}


# --- item 6: survival follow-up continues after a transplant or abandonment ---


@pytest.mark.parametrize("event", ["liver_transplant", "treatment_abandoned"])
async def test_day28_and_day84_stay_due_after(client, admin_headers, investigator, travel, event):
    pid, day1 = await randomized(client, admin_headers, investigator, arm=None)
    h = investigator.headers
    travel(day1, 12)
    r = await outcome(client, investigator, pid, event, date_of_study_day(day1, 9))
    assert r.status_code == 201, r.text
    schedule = (await client.get(url(pid, "visits"), headers=h)).json()["schedule"]
    statuses = {s["visit_day"]: s["status"] for s in schedule if s["visit_day"]}
    assert statuses == {
        4: "missed",
        7: "missed",
        10: "not_applicable",
        13: "not_applicable",
        28: "upcoming",
        84: "upcoming",
    }
    r = await client.post(url(pid, "visits"), json=visit_body(day1, 13, on_day=12), headers=h)
    assert r.status_code == 409  # only the vital-status contacts remain after the event
    travel(day1, 28)
    contact = {
        "visit_day": 28,
        "visit_date": date_of_study_day(day1, 28).isoformat(),
        "vital_status": "alive",
    }
    r = await client.post(url(pid, "visits"), json=contact, headers=h)
    assert r.status_code == 201, r.text
    assert (r.json()["scores"], r.json()["participant_status"]) == ({}, event)


# --- item 8: a complete baseline, and age and consent on Day 1 ---


async def _screened(client, actor, body, consent: date | None = None):
    p = await make_participant(client, actor)
    r = await client.post(url(p["id"], "screening"), json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    assert r.json()["eligible"], r.text
    on = consent or date.today() - timedelta(days=1)
    r = await client.post(
        url(p["id"], "consent"),
        json={"consent_date": on.isoformat(), "form_version": "v1.0"},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return p


async def test_randomization_needs_a_complete_baseline(client, admin_headers, investigator):
    labs = screening_body()["labs"]
    without_albumin = {k: v for k, v in labs.items() if k != "albumin"}
    for body, missing in (
        (screening_body(symptoms=None), "symptoms"),
        (screening_body(labs=without_albumin), "labs.albumin"),
    ):
        p = await _screened(client, investigator, body)
        r = await client.post(url(p["id"], "randomization"), headers=investigator.headers)
        assert r.status_code == 409, r.text
        assert missing in r.json()["detail"]


async def test_randomization_needs_age_65_on_day1(client, admin_headers, investigator, travel):
    today = date.today()
    sixty_sixth = today.replace(year=today.year - 66)  # turns 66 today
    p = await make_participant(client, investigator, dob=sixty_sixth.isoformat())
    body = screening_body(today - timedelta(days=2))  # 65 on the screening date
    r = await client.post(url(p["id"], "screening"), json=body, headers=investigator.headers)
    assert r.json()["eligible"], r.text
    r = await client.post(
        url(p["id"], "consent"),
        json={"consent_date": (today - timedelta(days=2)).isoformat(), "form_version": "v1"},
        headers=investigator.headers,
    )
    assert r.status_code == 201
    r = await client.post(url(p["id"], "randomization"), headers=investigator.headers)
    assert r.status_code == 409, r.text
    assert "66" in r.json()["detail"]


async def test_randomization_needs_consent_dated_by_day1(client, admin_headers):
    # Day 1 is the site's local date; at UTC-10 the latest date accepted anywhere (UTC+14) is
    # always the site's tomorrow, so a consent can be dated after Day 1
    code = unique("HNL")[:10]
    site = {"code": code, "name": "Honolulu", "timezone": "Pacific/Honolulu"}
    r = await client.post("/api/v1/sites", json=site, headers=admin_headers)
    assert r.status_code == 201, r.text
    actor = await make_actor(client, admin_headers, "investigator", code)
    p = await _screened(client, actor, screening_body(), consent=clock.latest_local_date())
    r = await client.post(url(p["id"], "randomization"), headers=actor.headers)
    assert r.status_code == 409, r.text
    assert "consent" in r.json()["detail"]


# --- item 10: the reporting clocks ---


def ae_body(onset: date, aware: datetime, **extra):
    body = {
        "term": "Hepatic encephalopathy",
        "onset_date": onset.isoformat(),
        "ctcae_grade": 2,
        "serious": False,
        "seriousness_criteria": [],
        "relatedness": "possible",
        "expectedness": "unexpected",
        "outcome": "recovering",
        "aware_at": aware.isoformat(),
    }
    return body | extra


async def _dosed(client, admin_headers, investigator, travel):
    pid, day1 = await randomized(client, admin_headers, investigator)
    travel(day1, 2)
    r = await client.post(url(pid, "doses"), json=dose_body(day1, 1), headers=investigator.headers)
    assert r.status_code == 201, r.text
    return pid, day1


async def test_upgrade_to_serious_keeps_aware_at_and_starts_the_clock_then(
    client, admin_headers, investigator, travel
):
    pid, day1 = await _dosed(client, admin_headers, investigator, travel)
    h = investigator.headers
    first = datetime.combine(day1, time(6), UTC)
    r = await client.post(url(pid, "adverse-events"), json=ae_body(day1, first), headers=h)
    assert r.status_code == 201, r.text
    event = r.json()
    assert (event["report_due_at"], event["serious_aware_at"]) == (None, None)
    serious_at = first + timedelta(hours=20)
    patch = {
        "serious": True,
        "seriousness_criteria": ["hospitalization"],
        "serious_aware_at": serious_at.isoformat(),
        "reason": "hospitalized overnight",
    }
    r = await client.patch(
        url(pid, f"adverse-events/{event['id']}"),
        json=patch,
        headers={**h, "If-Match": f'"{event["version"]}"'},
    )
    assert r.status_code == 200, r.text
    upgraded = r.json()
    assert datetime.fromisoformat(upgraded["aware_at"]) == first
    assert datetime.fromisoformat(upgraded["serious_aware_at"]) == serious_at
    assert datetime.fromisoformat(upgraded["report_due_at"]) == serious_at + timedelta(hours=24)
    assert upgraded["susar"]
    assert datetime.fromisoformat(upgraded["expedited_due_at"]) == serious_at + timedelta(days=15)
    r = await client.patch(
        url(pid, f"adverse-events/{event['id']}"),
        json={"aware_at": serious_at.isoformat(), "reason": "try to move the clock"},
        headers={**h, "If-Match": f'"{upgraded["version"]}"'},
    )
    assert r.status_code == 422
    assert fields(r) == {"aware_at"}


async def test_susar_clock_runs_from_sponsor_awareness_with_a_follow_up(
    client, admin_headers, investigator, travel
):
    pid, day1 = await _dosed(client, admin_headers, investigator, travel)
    h = investigator.headers
    aware = datetime.combine(day1, time(8), UTC)
    body = ae_body(
        day1,
        aware,
        serious=True,
        seriousness_criteria=["life_threatening"],
        ctcae_grade=4,
    )
    r = await client.post(url(pid, "adverse-events"), json=body, headers=h)
    assert r.status_code == 201, r.text
    event = r.json()
    assert datetime.fromisoformat(event["serious_aware_at"]) == aware
    assert datetime.fromisoformat(event["expedited_due_at"]) == aware + timedelta(days=7)
    assert datetime.fromisoformat(event["follow_up_due_at"]) == aware + timedelta(days=15)
    reported = aware + timedelta(hours=10)
    r = await client.post(
        url(pid, f"adverse-events/{event['id']}/sponsor-report"),
        json={"reported_at": reported.isoformat()},
        headers=h,
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert datetime.fromisoformat(after["sponsor_aware_at"]) == reported
    assert datetime.fromisoformat(after["expedited_due_at"]) == reported + timedelta(days=7)
    assert datetime.fromisoformat(after["follow_up_due_at"]) == reported + timedelta(days=15)


# --- item 11: the particle count has a tolerance ---


async def test_particle_count_within_ten_percent_is_on_protocol(
    client, admin_headers, investigator, travel
):
    pid, day1 = await randomized(client, admin_headers, investigator)
    h = investigator.headers
    travel(day1, 1)
    measured = dose_body(day1, 1, particles=198_000_000_000, volume_ml=95)
    r = await client.post(url(pid, "doses"), json=measured, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["deviations"] == []
    travel(day1, 4)
    tenfold = dose_body(day1, 2, particles=2 * 10**12)
    r = await client.post(url(pid, "doses"), json=tenfold, headers=h)
    assert r.status_code == 422
    assert fields(r) == {"deviation_reason"}
    high = protocol.DOSE_PARTICLES * (1 + protocol.DOSE_AMOUNT_TOLERANCE)
    r = await client.post(
        url(pid, "doses"), json=dose_body(day1, 2, particles=int(high)), headers=h
    )
    assert r.status_code == 201, r.text  # the tolerance's edge is still on protocol
