"""/fhir: every resource of a seeded trial is valid R4 (model library, fhirclient, invariants,
value sets); searches page with total and links; errors are OperationOutcome; site isolation
and the MRN's visibility; the CapabilityStatement lists exactly the routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from app.interop.fhir.capability import SUPPORTED
from app.routers import ROUTERS
from app.routers.fhir import router as fhir_router
from tests.api.fhir_world import World, seed
from tests.fhir_validation import problems
from tests.helpers import make_actor

FHIR = "application/fhir+json"


@pytest.fixture(scope="module")
async def world(client, admin_headers) -> World:
    return await seed(client, admin_headers)


async def everything(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every resource the caller can find, following `next` links (small pages on purpose)."""
    found: list[dict[str, Any]] = []
    for support in SUPPORTED:
        url: str | None = f"/fhir/{support.type}?_count=7"
        while url:
            r = await client.get(url, headers=headers)
            assert r.status_code == 200, r.text
            bundle = r.json()
            assert problems(bundle) == [], support.type
            found += [e["resource"] for e in bundle.get("entry", [])]
            links = {link["relation"]: link["url"] for link in bundle["link"]}
            url = links.get("next", "").removeprefix("http://test") or None
    return found


@pytest.fixture(scope="module")
async def produced(client, world) -> list[dict[str, Any]]:
    return await everything(client, world.investigator.headers)


def of(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == kind]


async def test_every_resource_of_the_seeded_trial_is_valid_r4(client, world, produced):
    kinds = {r["resourceType"] for r in produced}
    assert kinds == {s.type for s in SUPPORTED}
    assert len(produced) > 50
    for resource in produced:
        assert problems(resource) == [], (resource["resourceType"], resource["id"])
    r = await client.get("/fhir/metadata")
    assert problems(r.json()) == []


async def test_research_subjects_map_status_and_arms(world, produced):
    subjects = {r["id"]: r for r in of(produced, "ResearchSubject")}
    assert subjects[world.ids["candidate"]]["status"] == "candidate"
    assert subjects[world.ids["ineligible"]]["status"] == "ineligible"
    exo, ctl = subjects[world.ids["exosome"]], subjects[world.ids["control"]]
    assert exo["status"] == "on-study-intervention"  # Day 1 is today
    assert (exo["assignedArm"], exo["actualArm"]) == ("exosome", "exosome")
    assert (ctl["assignedArm"], ctl["actualArm"]) == ("control", "control")
    assert exo["study"]["reference"] == "ResearchStudy/PT-MSCs-EVS-2023-1"
    assert world.ids["other_site"] not in subjects


async def test_doses_visits_events_and_observations(world, produced):
    doses = {r["id"]: r for r in of(produced, "MedicationAdministration")}
    given = doses[world.records["dose_given"]]
    assert given["status"] == "completed"
    assert given["contained"][0]["batch"]["lotNumber"] == "EVS-LOT-1"
    assert doses[world.records["dose_not_given"]]["status"] == "not-done"
    observations = {r["id"]: r for r in of(produced, "Observation")}
    crp = observations[world.records["lab"]]
    assert crp["code"]["coding"][0]["code"] == "1988-5"
    assert crp["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert crp["referenceRange"][0]["high"]["value"] == 5
    assert observations[world.records["lab_voided"]]["status"] == "entered-in-error"
    surveys = [
        o for o in observations.values() if o["category"][0]["coding"][0]["code"] == "survey"
    ]
    assert {o["code"]["coding"][0]["code"] for o in surveys} >= {
        "cossh-aclf-ii",
        "child-pugh",
        "symptom-score",
    }
    visit_scores = [
        o
        for o in surveys
        if o.get("encounter", {}).get("reference", "").endswith(world.records["visit"])
    ]
    assert visit_scores
    assert all(
        o["derivedFrom"] for o in visit_scores if o["code"]["coding"][0]["code"] != "symptom-score"
    )
    events = {r["id"]: r for r in of(produced, "AdverseEvent")}
    serious = events[world.records["ae_serious"]]
    assert serious["seriousness"]["coding"][0]["code"] == "Serious"
    assert serious["suspectEntity"][0]["instance"]["reference"] == (
        f"MedicationAdministration/{world.records['dose_given']}"
    )
    assert serious["suspectEntity"][0]["causality"][0]["assessment"]["coding"][0]["code"] == (
        "Probably-Likely"
    )
    assert "suspectEntity" not in events[world.records["ae_control"]]  # control arm
    assert world.records["visit"] in {r["id"] for r in of(produced, "Encounter")}


async def test_reads_carry_etag_and_answer_304(client, world):
    url = f"/fhir/Patient/{world.ids['exosome']}"
    r = await client.get(url, headers=world.investigator.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == FHIR
    etag = r.headers["etag"]
    assert etag == f'W/"{r.json()["meta"]["versionId"]}"'
    again = await client.get(url, headers=world.investigator.headers | {"If-None-Match": etag})
    assert again.status_code == 304


async def test_searches_filter_and_page(client, world):
    h = world.investigator.headers
    pid = world.ids["exosome"]
    r = await client.get(
        "/fhir/Observation",
        params={"patient": pid, "code": "http://loinc.org|1988-5"},
        headers=h,
    )
    bundle = r.json()
    assert (bundle["type"], bundle["total"]) == ("searchset", 1)
    assert bundle["entry"][0]["resource"]["id"] == world.records["lab"]
    r = await client.get(
        "/fhir/Observation",
        params={"subject": f"Patient/{pid}", "category": "survey", "_count": 1},
        headers=h,
    )
    first = r.json()
    assert first["total"] >= 3
    assert len(first["entry"]) == 1
    links = {link["relation"] for link in first["link"]}
    assert links == {"self", "next"}
    when = (world.day1 + timedelta(days=2)).isoformat()
    r = await client.get(
        "/fhir/Observation",
        params={"patient": pid, "date": f"ge{when}T00:00:00+08:00", "category": "laboratory"},
        headers=h,
    )
    assert r.json()["total"] >= 2
    r = await client.get("/fhir/MedicationAdministration", params={"patient": pid}, headers=h)
    assert r.json()["total"] == 2
    r = await client.get("/fhir/AdverseEvent", params={"seriousness": "Serious"}, headers=h)
    assert [e["resource"]["id"] for e in r.json()["entry"]] == [world.records["ae_serious"]]
    r = await client.get(
        "/fhir/Encounter", params={"patient": pid, "_lastUpdated": "gt2000-01-01"}, headers=h
    )
    assert r.json()["total"] == 1
    r = await client.get(
        "/fhir/ResearchStudy", params={"identifier": "PT-MSCs-EVS-2023-1"}, headers=h
    )
    assert r.json()["total"] == 1


async def test_errors_are_operation_outcomes(client, world):
    h = world.investigator.headers
    cases = [
        ("/fhir/Observation?foo=1", h, 400),
        ("/fhir/Patient/00000000-0000-0000-0000-000000000000", h, 404),
        ("/fhir/Nope", h, 404),
        (f"/fhir/Patient/{world.ids['exosome']}", {}, 401),
        (f"/fhir/Patient/{world.ids['exosome']}", {"Authorization": "Bearer wrong"}, 401),
    ]
    for url, headers, status in cases:
        r = await client.get(url, headers=headers)
        assert r.status_code == status, (url, r.text)
        assert r.headers["content-type"] == FHIR
        assert r.json()["resourceType"] == "OperationOutcome"
        assert problems(r.json()) == []
    r = await client.delete(f"/fhir/Patient/{world.ids['exosome']}", headers=h)
    assert (r.status_code, r.json()["issue"][0]["code"]) == (405, "not-supported")
    r = await client.get("/fhir/Patient/x", headers={})
    assert r.headers.get("www-authenticate") == "Bearer"


async def test_site_isolation_on_every_route(client, world):
    """Another site's participant is not found (404) on reads and absent from searches."""
    foreign = world.ids["exosome"]
    h = world.other_investigator.headers
    for kind in ("Patient", "ResearchSubject"):
        r = await client.get(f"/fhir/{kind}/{foreign}", headers=h)
        assert r.status_code == 404
    for kind, record in (
        ("Observation", "lab"),
        ("Encounter", "visit"),
        ("MedicationAdministration", "dose_given"),
        ("AdverseEvent", "ae_serious"),
    ):
        r = await client.get(f"/fhir/{kind}/{world.records[record]}", headers=h)
        assert r.status_code == 404, kind
        assert r.json()["issue"][0]["code"] == "not-found"
    for support in SUPPORTED:
        param = next((p.name for p in support.search if p.name in ("patient", "subject")), None)
        if param is None:
            continue
        r = await client.get(f"/fhir/{support.type}", params={param: foreign}, headers=h)
        assert r.json()["total"] == 0, support.type
    mine = await everything(client, h)
    assert {r["id"] for r in mine if r["resourceType"] == "Patient"} == {world.ids["other_site"]}


async def test_the_mrn_is_shown_to_the_site_and_admin_only(client, world, admin_headers):
    pid = world.ids["candidate"]
    monitor = await make_actor(client, admin_headers, "monitor")
    statistician = await make_actor(client, admin_headers, "statistician")
    for headers, shown in (
        (world.investigator.headers, True),
        (admin_headers, True),
        (monitor.headers, False),
        (statistician.headers, False),
    ):
        patient = (await client.get(f"/fhir/Patient/{pid}", headers=headers)).json()
        values = [i["value"] for i in patient["identifier"]]
        assert ("MRN-0001" in values) is shown
        system = (
            next(i["system"] for i in patient["identifier"] if i["value"] == "MRN-0001")
            if shown
            else None
        )
        found = await client.get(
            "/fhir/Patient", params={"identifier": f"{system or 'x'}|MRN-0001"}, headers=headers
        )
        assert found.json()["total"] == (1 if shown else 0)
    r = await client.get(
        "/fhir/Patient", params={"identifier": "MRN-0001"}, headers=monitor.headers
    )
    assert r.json()["total"] == 0


async def test_the_capability_statement_lists_exactly_the_routes(client):
    statement = (await client.get("/fhir/metadata")).json()
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    listed = {(r["type"], i["code"]) for r in rest["resource"] for i in r["interaction"]}
    routed = set()
    assert fhir_router in ROUTERS
    for route in fhir_router.routes:
        assert isinstance(route, APIRoute)
        if route.path in ("/fhir/metadata", "/fhir/.well-known/smart-configuration"):
            continue
        if route.path == "/fhir":  # the transaction: Observation creates
            assert route.methods == {"POST"}
            routed.add(("Observation", "create"))
            continue
        assert route.methods == {"GET"}
        kind = route.path.split("/")[2]
        routed.add((kind, "read" if route.path.endswith("{resource_id}") else "search-type"))
    assert listed == routed
    assert [i["code"] for i in rest["interaction"]] == ["transaction"]
    token_uri = rest["security"]["extension"][0]["extension"][0]["valueUri"]
    assert token_uri == "http://test/api/v1/auth/client-token"


async def test_every_listed_search_parameter_is_accepted(client, world):
    h = world.investigator.headers
    samples = {"token": "x", "reference": "Patient/x", "date": "ge2026-01-01"}
    statement = (await client.get("/fhir/metadata")).json()
    for resource in statement["rest"][0]["resource"]:
        for param in resource["searchParam"]:
            r = await client.get(
                f"/fhir/{resource['type']}",
                params={param["name"]: samples[param["type"]]},
                headers=h,
            )
            assert r.status_code == 200, (resource["type"], param["name"], r.text)


async def test_a_voided_adverse_event_is_gone(client, world):
    h = world.investigator.headers
    pid = world.ids["control"]
    body = {
        "term": "Rash",
        "onset_date": world.day1.isoformat(),
        "ctcae_grade": 1,
        "serious": False,
        "seriousness_criteria": [],
        "relatedness": "not_related",
        "expectedness": "expected",
        "outcome": "recovered",
        "aware_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    base = f"/api/v1/participants/{pid}/adverse-events"
    r = await client.post(base, json=body, headers=h)
    assert r.status_code == 201, r.text
    ae = r.json()["id"]
    assert (await client.get(f"/fhir/AdverseEvent/{ae}", headers=h)).status_code == 200
    r = await client.post(
        f"{base}/{ae}/void", json={"reason": "duplicate entry"}, headers=h | {"If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"/fhir/AdverseEvent/{ae}", headers=h)
    assert (r.status_code, r.json()["issue"][0]["code"]) == (410, "deleted")
    listed = await client.get("/fhir/AdverseEvent", params={"subject": pid}, headers=h)
    assert ae not in {e["resource"]["id"] for e in listed.json().get("entry", [])}
