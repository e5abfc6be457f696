"""Data queries (SPEC §13): raised by the monitor, answered by the site, closed or re-opened,
linked to corrections, isolated by site, audited; and the service's own plausibility query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fhir_bundles import observation, patient, transaction
from tests.helpers import make_actor, make_participant, make_site


@pytest.fixture(scope="module")
async def cast(client, admin_headers, site, investigator):  # type: ignore[no-untyped-def]
    other = await make_site(client, admin_headers)
    return {
        "inv": investigator,
        "coord": await make_actor(client, admin_headers, "coordinator", site),
        "stranger": await make_actor(client, admin_headers, "investigator", other),
        "monitor": await make_actor(client, admin_headers, "monitor"),
    }


async def lab(client, actor, pid: str, analyte: str = "crp", value: float = 12, unit: str = "mg/L"):  # type: ignore[no-untyped-def]
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = await client.post(
        f"/api/v1/participants/{pid}/lab-results",
        json={"analyte": analyte, "value": value, "unit": unit, "collected_at": when},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def raise_on(client, actor, pid: str, record_id: str, **extra):  # type: ignore[no-untyped-def]
    body = {"participant_id": pid, "resource": "lab_result", "record_id": record_id}
    body.update({"field": "value", "text": "Value differs from the source lab report"}, **extra)
    return await client.post("/api/v1/queries", json=body, headers=actor.headers)


async def test_the_life_cycle_across_roles_and_sites(client, cast):
    inv, coord, stranger, monitor = cast["inv"], cast["coord"], cast["stranger"], cast["monitor"]
    pid = (await make_participant(client, inv))["id"]
    result = await lab(client, inv, pid)
    assert (await raise_on(client, inv, pid, result["id"])).status_code == 403
    r = await raise_on(client, monitor, pid, result["id"])
    assert r.status_code == 201, r.text
    query = r.json()
    assert query["status"] == "open"
    assert query["automatic"] is False
    url = f"/api/v1/queries/{query['id']}"
    # another site neither sees nor answers it
    assert (await client.get(url, headers=stranger.headers)).status_code == 404
    r = await client.post(f"{url}/responses", json={"text": "x"}, headers=stranger.headers)
    assert r.status_code == 404
    listed = await client.get("/api/v1/queries", headers=stranger.headers)
    assert query["id"] not in [q["id"] for q in listed.json()["items"]]
    # the site answers; the monitor closes and re-opens
    r = await client.post(
        f"{url}/responses", json={"text": "Source says 12"}, headers=coord.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "answered"
    assert (await client.post(f"{url}/close", headers=coord.headers)).status_code == 403
    r = await client.post(f"{url}/close", json={"text": "ok"}, headers=monitor.headers)
    assert r.json()["status"] == "closed"
    assert (await client.post(f"{url}/close", headers=monitor.headers)).status_code == 409
    r = await client.post(f"{url}/responses", json={"text": "late"}, headers=inv.headers)
    assert r.status_code == 409
    r = await client.post(f"{url}/reopen", json={"text": "recheck"}, headers=monitor.headers)
    assert r.json()["status"] == "open"
    detail = (await client.get(url, headers=inv.headers)).json()
    assert [m["kind"] for m in detail["messages"]] == ["opened", "response", "closed", "reopened"]
    assert detail["messages"][1]["author_role"] == "coordinator"
    mine = await client.get(
        "/api/v1/queries", params={"participant_id": pid, "status": "open"}, headers=inv.headers
    )
    assert [q["id"] for q in mine.json()["items"]] == [query["id"]]
    closed = await client.get(
        "/api/v1/queries", params={"participant_id": pid, "status": "closed"}, headers=inv.headers
    )
    assert closed.json()["total"] == 0
    trail = await client.get(
        f"/api/v1/audit?table=queries&record_id={query['id']}", headers=monitor.headers
    )
    assert len(trail.json()["items"]) == 4  # raised, answered, closed, re-opened


async def test_a_query_is_raised_on_the_participants_own_record(client, cast):
    inv, monitor = cast["inv"], cast["monitor"]
    pid = (await make_participant(client, inv))["id"]
    someone_else = (await make_participant(client, inv))["id"]
    result = await lab(client, inv, someone_else)
    r = await raise_on(client, monitor, pid, result["id"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "record_id"


async def test_a_correction_answers_the_query_and_the_query_shows_it(client, cast):
    inv, monitor = cast["inv"], cast["monitor"]
    pid = (await make_participant(client, inv))["id"]
    result = await lab(client, inv, pid)
    other = await lab(client, inv, pid, "alt", 40, "U/L")
    query = (await raise_on(client, monitor, pid, result["id"])).json()
    url = f"/api/v1/participants/{pid}/lab-results/{result['id']}"
    etag = (await client.get(url, headers=inv.headers)).headers["ETag"]
    wrong = await client.patch(
        f"/api/v1/participants/{pid}/lab-results/{other['id']}",
        json={"value": 41, "reason": "typo", "query_id": query["id"]},
        headers={**inv.headers, "If-Match": '"1"'},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "query_id"
    r = await client.patch(
        url,
        json={"value": 13, "reason": "typo against the source", "query_id": query["id"]},
        headers={**inv.headers, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    detail = (await client.get(f"/api/v1/queries/{query['id']}", headers=monitor.headers)).json()
    assert detail["status"] == "answered"
    assert detail["corrections"] == [result["id"]]
    assert detail["messages"][-1]["kind"] == "correction"


async def test_the_service_raises_a_query_on_an_implausible_lab_value(client, cast):
    inv = cast["inv"]
    pid = (await make_participant(client, inv))["id"]
    await lab(client, inv, pid, "total_bilirubin", 250, "umol/L")
    assert (await client.get(f"/api/v1/queries?participant_id={pid}", headers=inv.headers)).json()[
        "total"
    ] == 0
    typo = await lab(client, inv, pid, "total_bilirubin", 2500, "umol/L")
    listed = (await client.get(f"/api/v1/queries?participant_id={pid}", headers=inv.headers)).json()
    assert listed["total"] == 1
    auto = listed["items"][0]
    assert auto["automatic"] is True
    assert auto["record_id"] == typo["id"]
    assert auto["created_by"] is None
    assert "plausible range" in auto["text"]


async def test_fhir_ingest_raises_the_same_automatic_query(client, cast):
    inv = cast["inv"]
    pid = (await make_participant(client, inv))["id"]
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    bundle = transaction([observation(patient(pid), "14631-6", 2500, "umol/L", when)])
    r = await client.post(
        "/fhir", json=bundle, headers={**inv.headers, "Content-Type": "application/fhir+json"}
    )
    assert r.status_code == 200, r.text
    listed = (await client.get(f"/api/v1/queries?participant_id={pid}", headers=inv.headers)).json()
    assert [q["automatic"] for q in listed["items"]] == [True]
    assert listed["items"][0]["resource"] == "lab_result"
