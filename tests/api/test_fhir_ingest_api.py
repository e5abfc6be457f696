"""POST /fhir: a transaction Bundle of lab Observations becomes lab results (source fhir) -
all or nothing, conditional create, refusals named by their FHIRPath, and the screening and
visit without labs that then use the ingested results."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, timedelta
from typing import Any

import pytest

from app import clock
from tests.api.fhir_world import MRN_SYSTEM, make_site_with_mrn
from tests.api.treatment_helpers import local, randomized, visit_body
from tests.fhir_bundles import eligible_labs, observation, patient, transaction
from tests.helpers import BASELINE_SYMPTOMS, make_actor, make_participant

FHIR = "application/fhir+json"


@pytest.fixture(scope="module")
async def site(client, admin_headers) -> str:
    return await make_site_with_mrn(client, admin_headers)


async def post(client, body: Any, headers: dict[str, str], **extra: str):
    return await client.post("/fhir", json=body, headers=headers | {"Content-Type": FHIR} | extra)


async def count_labs(db, participant_id: str) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM lab_results WHERE participant_id = $1", uuid.UUID(participant_id)
        )
    )


def eighteen(pid: str) -> dict[str, Any]:
    start = clock.utc_now() - timedelta(days=2)
    labs = [
        observation(
            patient(pid),
            "1742-6",
            30 + i,
            "U/L",
            (start + timedelta(minutes=10 * i)).isoformat(timespec="seconds"),
        )
        for i in range(18)
    ]
    return transaction(labs)


async def test_a_bundle_is_ingested_once(client, investigator, db):
    pid = (await make_participant(client, investigator))["id"]
    body = eighteen(pid)
    r = await post(client, body, investigator.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == FHIR
    response = r.json()
    assert response["type"] == "transaction-response"
    assert [e["response"]["status"] for e in response["entry"]] == ["201 Created"] * 18
    assert await count_labs(db, pid) == 18
    location = response["entry"][5]["response"]["location"]
    obs = (
        await client.get(f"/fhir/{location.split('/_history')[0]}", headers=investigator.headers)
    ).json()
    assert obs["identifier"][0] == body["entry"][5]["resource"]["identifier"][0]
    assert obs["valueQuantity"]["value"] == 35
    listed = await client.get(
        f"/api/v1/participants/{pid}/lab-results",
        params={"source": "fhir"},
        headers=investigator.headers,
    )
    assert listed.json()["total"] == 18
    again = await post(client, body, investigator.headers)
    assert again.status_code == 200, again.text
    entries = again.json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["200 OK"] * 18
    assert [e["response"]["location"] for e in entries] == [
        e["response"]["location"] for e in response["entry"]
    ]
    assert "nothing created" in entries[0]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert await count_labs(db, pid) == 18


async def test_one_bad_entry_in_the_middle_writes_nothing(client, investigator, db):
    pid = (await make_participant(client, investigator))["id"]
    body = eighteen(pid)
    body["entry"][17]["resource"]["valueQuantity"]["code"] = "mmol/L"
    r = await post(client, body, investigator.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == FHIR
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [i["expression"] for i in outcome["issue"]] == [
        ["Bundle.entry[17].resource.valueQuantity.code"]
    ]
    assert await count_labs(db, pid) == 0
    body = eighteen(pid)
    body["entry"][9]["resource"]["code"]["coding"][0]["code"] = "99999-9"  # unknown LOINC
    r = await post(client, body, investigator.headers)
    assert r.status_code == 422
    (issue,) = r.json()["issue"]
    assert issue["expression"] == ["Bundle.entry[9].resource.code.coding[0].code"]
    assert issue["code"] == "code-invalid"
    body = eighteen(pid)
    body["entry"][3]["resource"]["valueQuantity"]["code"] = "U/litre"  # not UCUM
    r = await post(client, body, investigator.headers)
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry[3].resource.valueQuantity.code"]
    assert await count_labs(db, pid) == 0


async def test_the_participants_rules_apply(client, investigator, db):
    pid = (await make_participant(client, investigator))["id"]
    future = (clock.utc_now() + timedelta(days=1)).isoformat(timespec="seconds")
    body = transaction([observation(patient(pid), "1988-5", 4, "mg/L", future)])
    r = await post(client, body, investigator.headers)
    assert r.status_code == 422
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.effectiveDateTime"]


async def test_changed_content_under_a_known_identifier_is_a_conflict(client, investigator, db):
    pid = (await make_participant(client, investigator))["id"]
    body = eighteen(pid)
    assert (await post(client, body, investigator.headers)).status_code == 200
    changed = copy.deepcopy(body)
    changed["entry"][4]["resource"]["valueQuantity"]["value"] = 99
    r = await post(client, changed, investigator.headers)
    assert r.status_code == 409, r.text
    (issue,) = r.json()["issue"]
    assert issue["code"] == "conflict"
    assert issue["expression"] == ["Bundle.entry[4].resource"]
    assert "PATCH" in issue["diagnostics"]


async def test_subjects_by_study_id_and_by_mrn(client, admin_headers, db):
    site = await make_site_with_mrn(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    body = {"site_code": site, "date_of_birth": "1971-02-03", "sex": "male", "mrn": "H-778812"}
    p = (await client.post("/api/v1/participants", json=body, headers=inv.headers)).json()
    system = (await client.get(f"/api/v1/sites/{site}", headers=admin_headers)).json()["mrn_system"]
    when = (clock.utc_now() - timedelta(hours=5)).isoformat(timespec="seconds")
    study = {"system": "https://aclf-trial.example.org/fhir/sid/study-id", "value": p["study_id"]}
    labs = [
        observation(
            {"identifier": {"system": system, "value": "H-778812"}}, "1988-5", 4, "mg/L", when
        ),
        observation(
            {"reference": f"Patient?identifier={system}|H-778812"}, "1742-6", 40, "U/L", when
        ),
        observation({"identifier": study}, "1920-8", 41, "U/L", when),
    ]
    r = await post(client, transaction(labs), inv.headers)
    assert r.status_code == 200, r.text
    assert await count_labs(db, p["id"]) == 3
    other = await make_actor(
        client, admin_headers, "investigator", await make_site_with_mrn(client, admin_headers)
    )
    r = await post(
        client,
        transaction([observation({"identifier": study}, "1988-5", 5, "mg/L", when)]),
        other.headers,
    )
    assert r.status_code == 422
    assert r.json()["issue"][0]["code"] == "not-found"  # another site's participant
    assert await count_labs(db, p["id"]) == 3
    assert system.startswith(MRN_SYSTEM)


async def test_a_screening_without_labs_uses_the_ingested_results(client, investigator):
    pid = (await make_participant(client, investigator))["id"]
    assessment = date.today() - timedelta(days=1)
    morning = local(assessment, 1, 7, 30).isoformat()  # site time on the assessment date
    r = await post(client, transaction(eligible_labs(patient(pid), morning)), investigator.headers)
    assert r.status_code == 200, r.text
    created = {e["response"]["location"].split("/")[1] for e in r.json()["entry"]}
    body = {
        "assessment_date": assessment.isoformat(),
        "he_grade": 1,
        "ascites": "mild",
        "aclf_diagnosis_confirmed": True,
        "symptoms": BASELINE_SYMPTOMS,
    }
    r = await client.post(
        f"/api/v1/participants/{pid}/screening", json=body, headers=investigator.headers
    )
    assert r.status_code == 201, r.text
    screening = r.json()
    assert screening["eligible"], screening["reasons"]
    used = {v["lab_result_id"] for v in screening["labs"].values()}
    assert {v["origin"] for v in screening["labs"].values()} == {"lab_result"}
    assert used == created


async def test_a_visit_without_labs_uses_the_ingested_results(
    client, admin_headers, investigator, monkeypatch
):
    pid, day1 = await randomized(client, admin_headers, investigator, None)
    now = local(day1, 4, 23).astimezone(UTC)
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    r = await post(
        client,
        transaction(eligible_labs(patient(pid), local(day1, 4, 7).isoformat())),
        investigator.headers,
    )
    assert r.status_code == 200, r.text
    created = {e["response"]["location"].split("/")[1] for e in r.json()["entry"]}
    body = visit_body(day1, 4)
    body.pop("labs")
    r = await client.post(
        f"/api/v1/participants/{pid}/visits", json=body, headers=investigator.headers
    )
    assert r.status_code == 201, r.text
    visit = r.json()
    assert "cossh_aclf_ii" in visit["scores"]
    got = await client.get(
        f"/api/v1/participants/{pid}/visits/{visit['id']}", headers=investigator.headers
    )
    assert {v["lab_result_id"] for v in got.json()["labs"].values()} <= created


async def test_who_may_ingest(client, admin_headers, investigator, site):
    pid = (await make_participant(client, investigator))["id"]
    body = eighteen(pid)
    for role in ("monitor", "statistician", "dsmb"):
        actor = await make_actor(client, admin_headers, role)
        r = await post(client, body, actor.headers)
        assert r.status_code == 403, role
        assert r.json()["resourceType"] == "OperationOutcome"
    r = await post(client, body, admin_headers)
    assert r.status_code == 403
    integration = await make_actor(client, admin_headers, "integration", investigator.site_code)
    r = await post(client, body, integration.headers)
    assert r.status_code == 200, r.text


async def test_bodies_that_are_not_transactions(client, investigator):
    h = investigator.headers
    r = await client.post("/fhir", content=b"{not json", headers=h | {"Content-Type": FHIR})
    assert (r.status_code, r.json()["issue"][0]["code"]) == (400, "structure")
    r = await client.post(
        "/fhir", content=b"<Bundle/>", headers=h | {"Content-Type": "application/fhir+xml"}
    )
    assert r.status_code == 415
    r = await post(client, {"resourceType": "Bundle", "type": "batch", "entry": []}, h)
    assert r.status_code == 400
    r = await post(client, {"resourceType": "Patient"}, h)
    assert r.status_code == 400


async def test_an_idempotency_key_replays_the_response(client, investigator):
    pid = (await make_participant(client, investigator))["id"]
    body = eighteen(pid)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await post(client, body, investigator.headers, **key)
    second = await post(client, body, investigator.headers, **key)
    assert first.status_code == second.status_code == 200
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
