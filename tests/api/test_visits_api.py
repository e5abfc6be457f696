"""Visits over HTTP: scores stored with each visit, refusals, the schedule, corrections.

Time travel: Day 1 is the real date of randomization at the site, so visits on later study
days are recorded after monkeypatching `app.clock.utc_now` (the `travel` fixture, built on
`treatment_helpers.time_machine`; the services read the clock only through that attribute).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain.study_days import date_of_study_day
from tests.api.treatment_helpers import (
    SYMPTOMS,
    audit_of,
    labs,
    randomized,
    record_death,
    visit_body,
)
from tests.helpers import (
    make_actor,
    make_eligible,
    make_participant,
    make_site,
    randomize,
    screening_body,
)


@pytest.fixture
async def participant(client, admin_headers, investigator):
    return await randomized(client, admin_headers, investigator, arm=None)


def url(pid: str, suffix: str = "visits") -> str:
    return f"/api/v1/participants/{pid}/{suffix}"


def fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


async def test_visit_stores_scores_with_versions(client, investigator, participant, travel):
    pid, day1 = participant
    travel(day1, 4, hour=20)
    r = await client.post(url(pid), json=visit_body(day1, 4), headers=investigator.headers)
    assert r.status_code == 201, r.text
    visit = r.json()
    assert (visit["visit_day"], visit["study_day"], visit["deviation"]) == (4, 4, None)
    assert set(visit["scores"]) == {"cossh_aclf_ii", "child_pugh", "symptom_score"}
    assert all(s["version"] for s in visit["scores"].values())
    assert visit["scores"]["symptom_score"]["score"] == sum(SYMPTOMS.values())
    assert visit["labs"]["total_bilirubin"]["canonical_unit"] == "umol/L"
    assert r.headers["etag"] == f'"{visit["version"]}"'
    got = await client.get(url(pid) + f"/{visit['id']}", headers=investigator.headers)
    assert got.status_code == 200
    assert got.json()["scores"] == visit["scores"]


async def test_units_are_converted_before_scoring(client, investigator, participant, travel):
    pid, day1 = participant
    travel(day1, 10)
    in_mg = labs(total_bilirubin={"value": 180 / 17.1, "unit": "mg/dL"})
    a = await client.post(url(pid), json=visit_body(day1, 4), headers=investigator.headers)
    b = await client.post(
        url(pid), json=visit_body(day1, 7, labs=in_mg), headers=investigator.headers
    )
    assert b.status_code == 201, b.text
    cossh_a = a.json()["scores"]["cossh_aclf_ii"]["score"]
    assert b.json()["scores"]["cossh_aclf_ii"]["score"] == pytest.approx(cossh_a, abs=0.002)
    bad = await client.post(
        url(pid),
        json=visit_body(day1, 10, labs=labs(total_bilirubin={"value": 1, "unit": "U/L"})),
        headers=investigator.headers,
    )
    assert bad.status_code == 422
    assert fields(bad) == {"labs.total_bilirubin.unit"}


async def test_refusals(client, investigator, participant, travel):
    pid, day1 = participant
    h = investigator.headers
    travel(day1, 5, hour=12)
    future = await client.post(url(pid), json=visit_body(day1, 7), headers=h)
    assert future.status_code == 422
    assert fields(future) == {"visit_date"}
    before = await client.post(url(pid), json=visit_body(day1, 4, on_day=0), headers=h)
    assert before.status_code == 422
    assert "visit_date" in fields(before)
    odd_day = await client.post(url(pid), json=visit_body(day1, 5), headers=h)
    assert odd_day.status_code == 422
    assert fields(odd_day) == {"visit_day"}
    bad_symptom = visit_body(day1, 4, symptoms={**SYMPTOMS, "nausea": 4})
    r = await client.post(url(pid), json=bad_symptom, headers=h)
    assert r.status_code == 422
    assert fields(r) == {"symptoms.nausea"}
    assert (await client.post(url(pid), json=visit_body(day1, 4), headers=h)).status_code == 201
    again = await client.post(url(pid), json=visit_body(day1, 4), headers=h)
    assert again.status_code == 409
    assert "already recorded" in again.json()["detail"]


async def test_not_randomized_is_409(client, investigator):
    p = await make_eligible(client, investigator)
    r = await client.post(
        url(p["id"]), json=visit_body(date.today(), 4, on_day=1), headers=investigator.headers
    )
    assert r.status_code == 409
    r = await client.get(url(p["id"]), headers=investigator.headers)
    assert r.status_code == 200
    assert (r.json()["day1"], r.json()["schedule"], r.json()["visits"]) == (None, [], [])


async def test_out_of_window_needs_a_deviation_reason(client, investigator, participant, travel):
    pid, day1 = participant
    h = investigator.headers
    travel(day1, 30)
    body = visit_body(day1, 4, on_day=6)
    refused = await client.post(url(pid), json=body, headers=h)
    assert refused.status_code == 422
    assert fields(refused) == {"deviation_reason"}
    body["deviation_reason"] = "  "
    assert (await client.post(url(pid), json=body, headers=h)).status_code == 422
    body["deviation_reason"] = "ward closed for disinfection"
    r = await client.post(url(pid), json=body, headers=h)
    assert r.status_code == 201, r.text
    deviation = r.json()["deviation"]
    assert deviation["kind"] == "visit_out_of_window"
    assert (deviation["record_table"], deviation["record_id"]) == ("visits", r.json()["id"])
    assert deviation["reason"] == "ward closed for disinfection"
    assert "Day 6" in deviation["detail"]


async def test_no_visit_after_a_recorded_death(client, investigator, participant, travel, db):
    pid, day1 = participant
    h = investigator.headers
    await record_death(db, pid, date_of_study_day(day1, 5))
    travel(day1, 8)
    r = await client.post(url(pid), json=visit_body(day1, 7), headers=h)
    assert r.status_code == 422
    assert fields(r) == {"visit_date"}
    assert "death" in r.text
    r = await client.post(url(pid), json=visit_body(day1, 4), headers=h)
    assert r.status_code == 201, r.text  # up to the death, data may be entered late
    schedule = (await client.get(url(pid), headers=h)).json()["schedule"]
    assert [s["status"] for s in schedule] == ["completed", "completed"] + ["not_applicable"] * 5


async def test_schedule_statuses_move_with_the_clock(client, investigator, participant, travel):
    pid, day1 = participant
    h = investigator.headers
    travel(day1, 4)
    assert (await client.post(url(pid), json=visit_body(day1, 4), headers=h)).status_code == 201

    def statuses(body):
        return {s["visit_day"]: s["status"] for s in body["schedule"]}

    travel(day1, 8)
    got = (await client.get(url(pid), headers=h)).json()
    assert statuses(got) == {
        None: "completed",
        4: "completed",
        7: "overdue",
        10: "upcoming",
        13: "upcoming",
        28: "upcoming",
        84: "upcoming",
    }
    assert got["schedule"][1]["visit_id"] == got["visits"][0]["id"]
    for slot in got["schedule"]:  # every visit_id given is a visit's, readable as one
        if slot["visit_id"] is not None:
            one = await client.get(url(pid) + f"/{slot['visit_id']}", headers=h)
            assert one.status_code == 200, (slot, one.text)
    baseline = got["schedule"][0]
    assert baseline["visit_id"] is None  # the baseline is a screening, not a visit
    screenings = (await client.get(url(pid, "screening"), headers=h)).json()["items"]
    assert baseline["screening_id"] in {s["id"] for s in screenings}
    assert got["schedule"][2]["window_end"] == date_of_study_day(day1, 8).isoformat()
    travel(day1, 13)
    got = statuses((await client.get(url(pid), headers=h)).json())
    assert (got[7], got[10], got[13]) == ("missed", "missed", "due")


async def test_day84_visit_completes_the_participant(client, investigator, participant, travel):
    pid, day1 = participant
    h = investigator.headers
    travel(day1, 90)
    r = await client.post(url(pid), json=visit_body(day1, 84, on_day=88), headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["participant_status"] == "completed"
    p = await client.get(f"/api/v1/participants/{pid}", headers=h)
    assert p.json()["status"] == "completed"
    late = await client.post(url(pid), json=visit_body(day1, 28), headers=h)
    assert late.status_code == 201  # late data entry stays possible


async def test_age_on_the_visit_date_enters_the_score(client, admin_headers, investigator, travel):
    """A birthday between screening and the Day 4 visit: the visit uses the new age."""
    today = date.today()
    birthday = today + timedelta(days=2)
    if (birthday.month, birthday.day) == (2, 29):
        pytest.skip("29 February arithmetic is tested in the unit tests")
    dob = birthday.replace(year=birthday.year - 50)
    p = await make_participant(client, investigator, dob=dob.isoformat())
    h = investigator.headers
    r = await client.post(
        f"/api/v1/participants/{p['id']}/screening", json=screening_body(), headers=h
    )
    assert r.status_code == 201, r.text
    assert r.json()["age_years"] == 49
    r = await client.post(
        f"/api/v1/participants/{p['id']}/consent",
        json={"consent_date": (today - timedelta(days=1)).isoformat(), "form_version": "v1"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    allocation = await randomize(client, admin_headers, investigator, p["id"])
    day1 = date.fromisoformat(allocation["day1"])
    travel(day1, 5)
    r = await client.post(url(p["id"]), json=visit_body(day1, 4, on_day=5), headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["age_years"] == 50


async def test_correction_recomputes_scores_and_is_audited(
    client, admin_headers, investigator, participant, travel
):
    pid, day1 = participant
    h = investigator.headers
    travel(day1, 4)
    visit = (await client.post(url(pid), json=visit_body(day1, 4), headers=h)).json()
    path = url(pid) + f"/{visit['id']}"
    change = {
        "labs": labs(inr={"value": 2.5, "unit": "1"}),
        "reason": "INR result was from another patient",
    }
    assert (await client.patch(path, json=change, headers=h)).status_code == 428
    assert (
        await client.patch(path, json=change, headers={**h, "If-Match": '"7"'})
    ).status_code == 412
    r = await client.patch(path, json=change, headers={**h, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["version"] == 2
    assert after["scores"]["cossh_aclf_ii"]["score"] > visit["scores"]["cossh_aclf_ii"]["score"]
    assert after["scores"]["child_pugh"]["score"] == visit["scores"]["child_pugh"]["score"] + 2
    assert after["scores"]["symptom_score"] == visit["scores"]["symptom_score"]

    only_he = {"he_grade": 3, "reason": "re-graded by the neurologist"}
    r = await client.patch(path, json=only_he, headers={**h, "If-Match": '"2"'})
    assert r.status_code == 200, r.text
    assert r.json()["labs"]["inr"]["value"] == 2.5  # stored labs kept and re-scored
    assert r.json()["scores"]["child_pugh"]["score"] == after["scores"]["child_pugh"]["score"] + 1

    null_date = await client.patch(
        path, json={"visit_date": None, "reason": "oops"}, headers={**h, "If-Match": '"3"'}
    )
    assert null_date.status_code == 422
    assert fields(null_date) == {"visit_date"}

    entries = await audit_of(client, admin_headers, "visits", visit["id"])
    update = next(e for e in entries if e["action"] == "UPDATE")
    assert update["old_values"]["scores"] == visit["scores"]
    assert update["new_values"]["scores"]["child_pugh"] == after["scores"]["child_pugh"]
    assert update["reason"] == change["reason"]


async def test_correction_of_the_date_reruns_the_window(client, investigator, participant, travel):
    pid, day1 = participant
    h = investigator.headers
    travel(day1, 10)
    visit = (await client.post(url(pid), json=visit_body(day1, 7), headers=h)).json()
    path = url(pid) + f"/{visit['id']}"
    moved = {"visit_date": date_of_study_day(day1, 10).isoformat(), "reason": "wrong date"}
    r = await client.patch(path, json=moved, headers={**h, "If-Match": '"1"'})
    assert r.status_code == 422
    assert fields(r) == {"deviation_reason"}
    moved["deviation_reason"] = "patient came late"
    r = await client.patch(path, json=moved, headers={**h, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["deviation"]["kind"] == "visit_out_of_window"
    assert r.json()["study_day"] == 10


async def test_score_series_with_change_from_baseline(client, investigator, participant, travel):
    pid, day1 = participant
    h = investigator.headers
    travel(day1, 7)
    assert (await client.post(url(pid), json=visit_body(day1, 7), headers=h)).status_code == 201
    no_labs = visit_body(day1, 4, labs={}, he_grade=None, ascites=None)
    assert (await client.post(url(pid), json=no_labs, headers=h)).status_code == 201

    r = await client.get(url(pid, "scores"), headers=h)
    assert r.status_code == 200, r.text
    series = r.json()["items"]
    assert [(a["visit_day"], a["source"]) for a in series] == [
        (None, "screening"),
        (4, "visit"),
        (7, "visit"),
    ]
    baseline, day4, day7 = series
    assert baseline["scores"]["cossh_aclf_ii"]["change_from_baseline"] == 0
    assert set(day4["scores"]) == {"symptom_score"}
    symptoms = day4["scores"]["symptom_score"]
    expected = symptoms["score"] - baseline["scores"]["symptom_score"]["score"]
    assert symptoms["change_from_baseline"] == expected
    for name in ("cossh_aclf_ii", "child_pugh"):
        entry = day7["scores"][name]
        expected = entry["score"] - baseline["scores"][name]["score"]
        assert entry["change_from_baseline"] == pytest.approx(expected, abs=1e-9)
        assert entry["version"]
    assert day7["date"] == date_of_study_day(day1, 7).isoformat()


async def test_site_isolation_and_roles(client, admin_headers, site, participant, travel):
    pid, day1 = participant
    travel(day1, 4)
    other = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    for r in (
        await client.get(url(pid), headers=other.headers),
        await client.post(url(pid), json=visit_body(day1, 4), headers=other.headers),
        await client.get(url(pid, "scores"), headers=other.headers),
    ):
        assert r.status_code == 404
    for role, write, read in (("monitor", 403, 200), ("dsmb", 403, 403), ("admin", 403, 200)):
        actor = await make_actor(client, admin_headers, role)
        posted = await client.post(url(pid), json=visit_body(day1, 4), headers=actor.headers)
        assert posted.status_code == write
        assert (await client.get(url(pid), headers=actor.headers)).status_code == read
        assert (await client.get(url(pid, "scores"), headers=actor.headers)).status_code == read
    coordinator = await make_actor(client, admin_headers, "coordinator", site)
    r = await client.post(url(pid), json=visit_body(day1, 4), headers=coordinator.headers)
    assert r.status_code == 201


async def test_symptom_score_has_a_baseline_when_screening_records_symptoms(
    client, admin_headers, investigator, travel
):
    h = investigator.headers
    p = await make_participant(client, investigator)
    baseline_symptoms = {
        "fatigue": 3,
        "anorexia": 3,
        "nausea": 2,
        "jaundice": 3,
        "consciousness": 1,
    }
    r = await client.post(
        f"/api/v1/participants/{p['id']}/screening",
        json=screening_body(symptoms=baseline_symptoms),
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["scores"]["symptom_score"]["score"] == 12
    await client.post(
        f"/api/v1/participants/{p['id']}/consent",
        json={"consent_date": r.json()["assessment_date"], "form_version": "v1"},
        headers=h,
    )
    day1 = date.fromisoformat(
        (await randomize(client, admin_headers, investigator, p["id"]))["day1"]
    )
    travel(day1, 4)
    assert (await client.post(url(p["id"]), json=visit_body(day1, 4), headers=h)).status_code == 201
    series = (await client.get(url(p["id"], "scores"), headers=h)).json()["items"]
    day4 = series[1]["scores"]["symptom_score"]
    assert day4["change_from_baseline"] == day4["score"] - 12
