"""API conventions on every route: problem+json, auth, validation, limits, pagination."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.helpers import make_actor, make_participant, make_site

PROBLEM = "application/problem+json"


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert "Traceback" not in r.text
    return body


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status_code == 200
    assert r.json()["migrations"] == "head"


async def test_unknown_route_is_problem_404(client, admin_headers):
    assert_problem(await client.get("/api/v1/nothing-here", headers=admin_headers), 404)
    assert_problem(await client.get("/nothing-here"), 404)


async def test_wrong_method_is_problem_405(client, admin_headers):
    r = await client.put("/api/v1/sites", headers=admin_headers)
    assert_problem(r, 405)
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "POST"}


async def test_missing_and_bad_token_are_401(client):
    body = assert_problem(await client.get("/api/v1/sites"), 401)
    assert "token" in body["detail"]
    r = await client.get("/api/v1/sites", headers={"Authorization": "Bearer trl_nope"})
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"


async def test_validation_errors_name_each_field(client, admin_headers):
    r = await client.post("/api/v1/sites", json={"code": "bad code!"}, headers=admin_headers)
    body = assert_problem(r, 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"code", "name"}


async def test_malformed_json_is_422_not_500(client, admin_headers):
    r = await client.post(
        "/api/v1/sites",
        content=b"{not json",
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert_problem(r, 422)


async def test_no_mass_assignment_of_status_or_ids(client, admin_headers):
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    body = {
        "site_code": site,
        "date_of_birth": "1980-01-01",
        "sex": "male",
        "status": "randomized",
        "id": "00000000-0000-0000-0000-000000000000",
    }
    r = await client.post("/api/v1/participants", json=body, headers=inv.headers)
    problem = assert_problem(r, 422)
    assert {e["field"] for e in problem["errors"]} == {"status", "id"}


async def test_body_size_limit_is_413(client, admin_headers):
    big = {"code": "X1", "name": "x" * 2_000_000}
    assert_problem(await client.post("/api/v1/sites", json=big, headers=admin_headers), 413)


async def test_page_size_has_a_hard_maximum(client, admin_headers):
    body = assert_problem(await client.get("/api/v1/sites?limit=101", headers=admin_headers), 422)
    assert body["errors"][0]["field"] == "query.limit"
    r = await client.get("/api/v1/sites?limit=100", headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["limit"] == 100


async def test_request_id_is_echoed(client, admin_headers):
    r = await client.get("/api/v1/sites", headers={**admin_headers, "X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


async def test_timestamps_are_utc(client, admin_headers):
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    p = await make_participant(client, inv)
    assert p["created_at"].endswith("Z") or p["created_at"].endswith("+00:00")


@pytest.mark.parametrize("header", ['W/"1"', '"1"'])
async def test_etag_and_if_match(client, admin_headers, header):
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    p = await make_participant(client, inv)
    url = f"/api/v1/participants/{p['id']}"
    got = await client.get(url, headers=inv.headers)
    assert got.headers["etag"] == '"1"'
    patch = {"sex": "male", "reason": "transcription error on the CRF"}
    assert_problem(await client.patch(url, json=patch, headers=inv.headers), 428)
    r = await client.patch(url, json=patch, headers={**inv.headers, "If-Match": header})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    stale = await client.patch(url, json=patch, headers={**inv.headers, "If-Match": header})
    assert_problem(stale, 412)
    no_reason = await client.patch(
        url, json={"sex": "female"}, headers={**inv.headers, "If-Match": '"2"'}
    )
    assert assert_problem(no_reason, 422)["errors"][0]["field"] == "reason"


async def test_nul_characters_are_refused_with_422_not_500(client, admin_headers):
    r = await client.get("/api/v1/protocol-deviations?kind=%00", headers=admin_headers)
    assert assert_problem(r, 422)["errors"][0]["field"] == "query"
    r = await client.post(
        "/api/v1/sites",
        content=b'{"code": "NUL1", "name": "a\\u0000b"}',
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert assert_problem(r, 422)["errors"][0]["field"] == "body"


async def test_offset_beyond_postgres_integers_is_422(client, admin_headers):
    r = await client.get(f"/api/v1/sites?offset={2**70}", headers=admin_headers)
    assert assert_problem(r, 422)["errors"][0]["field"] == "query.offset"


async def test_one_problem_type_for_invalid_data(client, admin_headers):
    """A schema failure and a domain rule failure are the same kind of error."""
    schema = assert_problem(
        await client.post("/api/v1/sites", json={"code": "bad code!"}, headers=admin_headers), 422
    )
    rule = assert_problem(
        await client.get("/api/v1/audit/verify?anchor_id=1", headers=admin_headers), 422
    )
    assert schema["type"] == rule["type"] == "https://aclf-trial.example.org/problems/invalid-data"


async def test_single_reads_answer_304_to_a_matching_if_none_match(client, admin_headers):
    """A syncing client re-reads only what changed (SPEC §9.2)."""
    site = await make_site(client, admin_headers)
    url = f"/api/v1/sites/{site}"
    first = await client.get(url, headers=admin_headers)
    etag = first.headers["etag"]
    same = await client.get(url, headers={**admin_headers, "If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == etag
    listed = await client.get(url, headers={**admin_headers, "If-None-Match": f'"x", W/{etag}'})
    assert listed.status_code == 304
    stale = await client.get(url, headers={**admin_headers, "If-None-Match": '"0"'})
    assert stale.status_code == 200
    assert stale.json() == first.json()
    changed = await client.patch(
        url,
        json={"mrn_system": "urn:oid:1.2.3.4.5", "reason": "test of conditional reads"},
        headers={**admin_headers, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    after = await client.get(url, headers={**admin_headers, "If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag


async def test_304_never_reveals_another_sites_record(client, admin_headers):
    """The route runs first: a record the caller may not see is 404, whatever the ETag."""
    other = await make_site(client, admin_headers)
    inv = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    writer = await make_actor(client, admin_headers, "investigator", other)
    p = await make_participant(client, writer)
    r = await client.get(
        f"/api/v1/participants/{p['id']}", headers={**inv.headers, "If-None-Match": "*"}
    )
    assert_problem(r, 404)


async def test_list_items_equal_single_reads(client, admin_headers):
    """A syncing client may take a list item for the record itself (SPEC §9.2)."""
    inv = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    p = await make_participant(client, inv)
    base = f"/api/v1/participants/{p['id']}"
    now = datetime.now(UTC).replace(microsecond=0)
    bodies = {
        "lab-results": {
            "analyte": "alt",
            "value": 1.2,
            "unit": "ukat/L",
            "collected_at": (now - timedelta(minutes=5)).isoformat(),
        },
        "treatments": {
            "category": "antiviral",
            "name": "entecavir",
            "start_date": (date.today() - timedelta(days=30)).isoformat(),
        },
        "adverse-events": {
            "term": "Fever",
            "onset_date": date.today().isoformat(),
            "ctcae_grade": 1,
            "serious": False,
            "seriousness_criteria": [],
            "relatedness": "not_related",
            "expectedness": "expected",
            "outcome": "recovering",
            "aware_at": now.isoformat(),
        },
    }
    for kind, body in bodies.items():
        made = await client.post(f"{base}/{kind}", json=body, headers=inv.headers)
        assert made.status_code == 201, made.text
        one = await client.get(f"{base}/{kind}/{made.json()['id']}", headers=inv.headers)
        listed = await client.get(f"{base}/{kind}", headers=inv.headers)
        assert listed.json()["items"] == [one.json()], kind
