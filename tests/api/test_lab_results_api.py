"""Lab results over HTTP (SPEC §7): records with canonical units and LOINC, corrections and
voids, results typed with a screening or visit, and a screening or visit without `labs`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.api.treatment_helpers import (
    SHANGHAI,
    audit_of,
    labs,
    local,
    randomized,
    record_death,
    time_machine,
    visit_body,
)
from tests.helpers import make_actor, make_participant, make_site, screening_body


@pytest.fixture(scope="module")
async def site(client, admin_headers):
    return await make_site(client, admin_headers)


@pytest.fixture(scope="module")
async def inv(client, admin_headers, site):
    return await make_actor(client, admin_headers, "investigator", site)


@pytest.fixture
def travel(monkeypatch):
    return time_machine(monkeypatch)


def url(pid: str, suffix: str = "lab-results") -> str:
    return f"/api/v1/participants/{pid}/{suffix}"


def fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


def result(analyte: str, value: float, unit: str | None, at: datetime, **extra) -> dict:
    return {
        "analyte": analyte,
        "value": value,
        "unit": unit,
        "collected_at": at.isoformat(),
        **extra,
    }


YESTERDAY = datetime.now(UTC) - timedelta(days=1)


async def test_record_read_correct_void(client, admin_headers, inv):
    pid = (await make_participant(client, inv))["id"]
    h = inv.headers
    body = result("alt", 2, "ukat/L", YESTERDAY, reference_range_high=0.67)
    r = await client.post(url(pid), json=body, headers=h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["canonical_value"], made["canonical_unit"], made["loinc"]) == (
        120,
        "U/L",
        "1742-6",
    )
    assert (made["value"], made["unit"], made["source"], made["category"]) == (
        2,
        "ukat/L",
        "api",
        "liver",
    )
    assert made["reference_range_high_canonical"] == pytest.approx(40.2)
    assert r.headers["location"].endswith(made["id"])
    one = await client.get(url(pid, f"lab-results/{made['id']}"), headers=h)
    assert (one.status_code, one.headers["etag"]) == (200, '"1"')

    duplicate = await client.post(url(pid), json=body, headers=h)
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.json()["detail"]

    fix = {"value": 1.5, "reason": "transcription error"}
    assert (
        await client.patch(url(pid, f"lab-results/{made['id']}"), json=fix, headers=h)
    ).status_code == 428
    r = await client.patch(
        url(pid, f"lab-results/{made['id']}"), json=fix, headers={**h, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["canonical_value"], r.json()["version"]) == (90, 2)

    void = await client.post(
        url(pid, f"lab-results/{made['id']}/void"),
        json={"reason": "wrong participant"},
        headers={**h, "If-Match": '"2"'},
    )
    assert void.status_code == 200, void.text
    listed = (await client.get(url(pid), headers=h)).json()
    assert (listed["total"], listed["items"]) == (0, [])
    with_void = (await client.get(url(pid) + "?include_voided=true", headers=h)).json()
    assert with_void["items"][0]["void_reason"] == "wrong participant"
    again = await client.post(url(pid), json=body, headers=h)  # the void frees the slot
    assert again.status_code == 201
    actions = [
        a["action"] for a in await audit_of(client, admin_headers, "lab_results", made["id"])
    ]
    assert actions == ["INSERT", "UPDATE", "VOID"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (result("total_bilirubin", 3, "U/L", YESTERDAY), "unit"),  # not commensurable
        (result("sodium", 140, "mEq/L", YESTERDAY), "unit"),  # not UCUM (meq/L is)
        (result("crp", 5, None, YESTERDAY), "unit"),  # only INR may omit its unit
        (result("potassium", 4, "mmol/L", YESTERDAY), "analyte"),
        (result("crp", -1, "mg/L", YESTERDAY), "value"),
        (result("crp", 5, "mg/L", YESTERDAY + timedelta(days=2)), "collected_at"),
        (result("crp", 5, "mg/L", YESTERDAY, reference_range_high=0), "reference_range_high"),
        (
            {**result("crp", 5, "mg/L", YESTERDAY), "collected_at": "2026-01-01T08:00:00"},
            "collected_at",
        ),
    ],
)
async def test_bad_results_are_422_naming_the_field(client, inv, body, field):
    pid = (await make_participant(client, inv))["id"]
    r = await client.post(url(pid), json=body, headers=inv.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in fields(r)


async def test_list_filters_and_paging(client, inv):
    pid = (await make_participant(client, inv))["id"]
    for days, analyte, value, unit in [
        (3, "crp", 1.2, "mg/dL"),
        (2, "crp", 8, "mg/L"),
        (2, "inr", 1.4, None),
    ]:
        at = datetime.now(UTC) - timedelta(days=days)
        r = await client.post(url(pid), json=result(analyte, value, unit, at), headers=inv.headers)
        assert r.status_code == 201, r.text
    crp = (await client.get(url(pid) + "?analyte=crp", headers=inv.headers)).json()
    assert [i["canonical_value"] for i in crp["items"]] == [12, 8]
    assert crp["items"][0]["unit"] == "mg/dL"
    since = (datetime.now(UTC) - timedelta(days=2, hours=1)).isoformat()
    recent = await client.get(url(pid), params={"collected_from": since}, headers=inv.headers)
    assert recent.json()["total"] == 2
    page = (await client.get(url(pid) + "?limit=1&offset=1", headers=inv.headers)).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (3, 1, 1, 1)
    assert (await client.get(url(pid) + "?limit=1000", headers=inv.headers)).status_code == 422
    assert (await client.get(url(pid) + "?source=lab", headers=inv.headers)).status_code == 422


async def test_site_isolation_and_roles(client, admin_headers, inv):
    pid = (await make_participant(client, inv))["id"]
    made = (
        await client.post(url(pid), json=result("crp", 5, "mg/L", YESTERDAY), headers=inv.headers)
    ).json()
    other = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    one = url(pid, f"lab-results/{made['id']}")
    for method, path, body in [
        ("GET", url(pid), None),
        ("POST", url(pid), result("crp", 5, "mg/L", YESTERDAY)),
        ("GET", one, None),
        ("PATCH", one, {"value": 1, "reason": "xyz"}),
        ("POST", one + "/void", {"reason": "xyz"}),
    ]:
        r = await client.request(
            method, path, json=body, headers={**other.headers, "If-Match": '"1"'}
        )
        assert r.status_code == 404, (method, path, r.text)
    monitor = await make_actor(client, admin_headers, "monitor")
    assert (await client.get(one, headers=monitor.headers)).status_code == 200
    r = await client.post(
        url(pid), json=result("crp", 6, "mg/L", YESTERDAY), headers=monitor.headers
    )
    assert r.status_code == 403


async def test_nothing_collected_after_a_recorded_death(client, admin_headers, inv, travel, db):
    pid, day1 = await randomized(client, admin_headers, inv, arm=None)
    await record_death(db, pid, day1 + timedelta(days=2))
    travel(day1, 5)
    late = result("crp", 5, "mg/L", local(day1, 4))
    r = await client.post(url(pid), json=late, headers=inv.headers)
    assert (r.status_code, fields(r)) == (422, {"collected_at"})
    same_day = result("crp", 5, "mg/L", local(day1, 3, hour=23))
    assert (await client.post(url(pid), json=same_day, headers=inv.headers)).status_code == 201


# --- labs of screenings and visits ------------------------------------------------------------


async def test_screening_and_visit_labs_are_results(client, admin_headers, inv, travel):
    pid, day1 = await randomized(client, admin_headers, inv, arm=None)
    h = inv.headers
    screened = (await client.get(url(pid) + "?source=screening", headers=h)).json()
    assert {i["analyte"] for i in screened["items"]} == set(screening_body()["labs"])
    first = screened["items"][0]
    assert first["screening_id"]
    assert first["visit_id"] is None
    assessment = date.fromisoformat(screening_body()["assessment_date"])  # make_eligible's
    midnight = datetime.combine(assessment, datetime.min.time(), tzinfo=SHANGHAI)
    assert datetime.fromisoformat(first["collected_at"]) == midnight

    travel(day1, 4, hour=20)
    typed = labs(total_bilirubin={"value": 3.0, "unit": "mg/dL"})
    visit = (
        await client.post(url(pid, "visits"), json=visit_body(day1, 4, labs=typed), headers=h)
    ).json()
    tbil = visit["labs"]["total_bilirubin"]
    assert (tbil["canonical_value"], tbil["origin"]) == (51.3, "entered")
    own = (await client.get(url(pid) + "?source=visit", headers=h)).json()["items"]
    assert {i["id"] for i in own} == {e["lab_result_id"] for e in visit["labs"].values()}
    refused = await client.patch(
        url(pid, f"lab-results/{own[0]['id']}"),
        json={"value": 1, "reason": "not this way"},
        headers={**h, "If-Match": '"1"'},
    )
    assert refused.status_code == 409
    assert "visit" in refused.json()["detail"]

    fix = {"labs": labs(), "reason": "bilirubin was in umol/L"}
    r = await client.patch(
        url(pid, f"visits/{visit['id']}"), json=fix, headers={**h, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    now_own = (await client.get(url(pid) + "?source=visit", headers=h)).json()["items"]
    assert {i["id"] for i in now_own}.isdisjoint({i["id"] for i in own})
    assert next(i for i in now_own if i["analyte"] == "total_bilirubin")["canonical_value"] == 180
    voided = (await client.get(url(pid) + "?source=visit&include_voided=true", headers=h)).json()
    assert voided["total"] == 2 * len(own)
    assert {i["void_reason"] for i in voided["items"] if i["voided_at"]} == {
        "visit corrected: bilirubin was in umol/L"
    }

    r = await client.post(
        url(pid, f"visits/{visit['id']}/void"),
        json={"reason": "entered twice"},
        headers={**h, "If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    assert (await client.get(url(pid) + "?source=visit", headers=h)).json()["total"] == 0


async def test_ehr_feed_then_visit_without_labs(client, admin_headers, inv, travel):
    """The SPEC §7 flow: results arrive first, the visit is recorded with no lab typing."""
    pid, day1 = await randomized(client, admin_headers, inv, arm=None)
    h = inv.headers
    travel(day1, 7, hour=18)
    feed = [
        result("inr", 1.6, None, local(day1, 7, 6)),
        result("inr", 1.9, "1", local(day1, 7, 10)),  # the latest of the day wins
        result("inr", 1.2, "1", local(day1, 6, 10)),  # another day: ignored
        result("total_bilirubin", 10.5, "mg/dL", local(day1, 7, 6)),
        result("neutrophils", 3000, "/uL", local(day1, 7, 6)),
        result("urea_nitrogen", 14, "mg/dL", local(day1, 7, 6)),
        result("albumin", 3.2, "g/dL", local(day1, 7, 6)),
        result("crp", 12, "mg/L", local(day1, 7, 6)),  # not a score input: not taken
    ]
    ids = {}
    for body in feed:
        r = await client.post(url(pid), json=body, headers=h)
        assert r.status_code == 201, r.text
        ids[(body["analyte"], body["value"])] = r.json()["id"]
    body = visit_body(day1, 7)
    del body["labs"]
    r = await client.post(url(pid, "visits"), json=body, headers=h)
    assert r.status_code == 201, r.text
    visit = r.json()
    assert set(visit["labs"]) == {
        "inr",
        "total_bilirubin",
        "neutrophils",
        "urea_nitrogen",
        "urea",
        "albumin",
    }
    assert visit["labs"]["inr"]["lab_result_id"] == ids[("inr", 1.9)]
    assert visit["labs"]["inr"]["origin"] == "lab_result"
    assert visit["labs"]["urea"]["derived_from"] == "urea_nitrogen"
    assert visit["labs"]["total_bilirubin"]["canonical_value"] == pytest.approx(179.55)
    assert set(visit["scores"]) == {"cossh_aclf_ii", "child_pugh", "symptom_score"}
    typed = visit_body(
        day1,
        7,
        labs={
            "inr": {"value": 1.9, "unit": "1"},
            "total_bilirubin": {"value": 179.55, "unit": "umol/L"},
            "neutrophils": {"value": 3, "unit": "10*9/L"},
            "urea_nitrogen": {"value": 14, "unit": "mg/dL"},
            "albumin": {"value": 32, "unit": "g/L"},
        },
    )
    reference = await client.post(
        "/api/v1/calculators/cossh-aclf-ii",
        json={"age": visit["age_years"], "he_grade": typed["he_grade"], "labs": typed["labs"]},
        headers=h,
    )
    assert visit["scores"]["cossh_aclf_ii"]["value"] == pytest.approx(reference.json()["value"])
    assert (await client.get(url(pid) + "?source=visit", headers=h)).json()["total"] == 0

    # an EHR re-issues the INR: the visit that used it is rescored in the same transaction
    used, one = ids[("inr", 1.9)], url(pid, f"visits/{visit['id']}")
    r = await client.patch(
        url(pid, f"lab-results/{used}"),
        json={"value": 2.4, "reason": "lab re-issued the INR"},
        headers={**h, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    rescored = (await client.get(one, headers=h)).json()
    assert (rescored["labs"]["inr"]["canonical_value"], rescored["version"]) == (2.4, 2)
    # INR 1.9 -> 2.4 leaves the 1.7-2.3 band: one more Child-Pugh point
    assert rescored["scores"]["child_pugh"]["score"] == visit["scores"]["child_pugh"]["score"] + 1
    trail = await audit_of(client, admin_headers, "visits", visit["id"])
    assert trail[-1]["reason"] == "lab re-issued the INR"
    # voided: the visit falls back to the day's other INR (06:00, 1.6)
    r = await client.post(
        url(pid, f"lab-results/{used}/void"),
        json={"reason": "sent for the wrong patient"},
        headers={**h, "If-Match": '"2"'},
    )
    assert r.status_code == 200, r.text
    fallback = (await client.get(one, headers=h)).json()["labs"]["inr"]
    assert (fallback["canonical_value"], fallback["lab_result_id"]) == (1.6, ids[("inr", 1.6)])


async def test_vital_status_visit_without_labs_or_results(client, admin_headers, inv, travel):
    pid, day1 = await randomized(client, admin_headers, inv, arm=None)
    travel(day1, 4, hour=20)
    body = {
        "visit_day": 4,
        "visit_date": local(day1, 4).date().isoformat(),
        "vital_status": "alive",
    }
    r = await client.post(url(pid, "visits"), json=body, headers=inv.headers)
    assert r.status_code == 201, r.text
    assert (r.json()["labs"], r.json()["scores"]) == ({}, {})


async def test_screening_without_labs_uses_the_days_results(client, inv):
    pid = (await make_participant(client, inv))["id"]
    h = inv.headers
    day = date.today() - timedelta(days=1)
    at = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=8)
    body = screening_body(day)
    del body["labs"]
    r = await client.post(url(pid, "screening"), json=body, headers=h)
    assert r.status_code == 422
    assert fields(r) == {"labs.inr", "labs.neutrophils", "labs.total_bilirubin", "labs.urea"}

    feed = [
        result("inr", 1.8, "1", at),
        result("total_bilirubin", 150, "umol/L", at, reference_range_high=14),
        result("neutrophils", 3.2, "10*9/L", at),
        result("urea", 30.6, "mg/dL", at),
    ]
    for item in feed:
        assert (await client.post(url(pid), json=item, headers=h)).status_code == 201
    r = await client.post(url(pid, "screening"), json=body, headers=h)
    assert r.status_code == 201, r.text
    screening = r.json()
    # 150 umol/L is below 171 but above 10 x ULN 14: eligible through the result's ULN
    assert screening["eligible"], screening["reasons"]
    assert screening["labs"]["urea"]["canonical_value"] == pytest.approx(5.0949, abs=1e-4)
    assert all(e["origin"] == "lab_result" for e in screening["labs"].values())
