"""The site's MRN of a participant (SPEC §10.3): set at enrolment or corrected, shown to the
site's roles and admin only, stored as a keyed hash and ciphertext (never in clear, also not
in the audit trail), one live participant per MRN and site."""

from __future__ import annotations

import uuid

import pytest

from tests.api.fhir_world import make_site_with_mrn
from tests.helpers import make_actor, screening_body

MRN = "0098765432"


@pytest.fixture(scope="module")
async def site(client, admin_headers) -> str:
    return await make_site_with_mrn(client, admin_headers)


async def enrol(client, actor, mrn: str | None = MRN, site: str | None = None):
    body = {"site_code": site or actor.site_code, "date_of_birth": "1965-01-02", "sex": "male"}
    if mrn is not None:
        body["mrn"] = mrn
    return await client.post("/api/v1/participants", json=body, headers=actor.headers)


async def test_the_mrn_is_shown_to_the_site_and_admin_only(
    client, admin_headers, investigator, site
):
    r = await enrol(client, investigator, "A-" + uuid.uuid4().hex[:8])
    assert r.status_code == 201, r.text
    created = r.json()
    system = (await client.get(f"/api/v1/sites/{site}", headers=admin_headers)).json()["mrn_system"]
    assert created["mrn"]["system"] == system
    url = f"/api/v1/participants/{created['id']}"
    coordinator = await make_actor(client, admin_headers, "coordinator", site)
    for headers in (investigator.headers, coordinator.headers, admin_headers):
        assert (await client.get(url, headers=headers)).json()["mrn"] == created["mrn"]
    for role in ("monitor", "statistician"):
        actor = await make_actor(client, admin_headers, role)
        assert (await client.get(url, headers=actor.headers)).json()["mrn"] is None
        listed = await client.get(
            "/api/v1/participants", params={"site_code": site}, headers=actor.headers
        )
        assert all(p["mrn"] is None for p in listed.json()["items"])
    listed = await client.get("/api/v1/participants", headers=investigator.headers)
    mine = {p["id"]: p for p in listed.json()["items"]}
    assert mine[created["id"]]["mrn"] == created["mrn"]


async def test_the_mrn_is_never_stored_in_clear(client, investigator, db):
    mrn = "CLEAR-" + uuid.uuid4().hex[:8]
    pid = (await enrol(client, investigator, mrn)).json()["id"]
    row = await db.fetchrow("SELECT * FROM participants WHERE id = $1", uuid.UUID(pid))
    assert mrn.encode() not in b"".join(v for v in row.values() if isinstance(v, bytes))
    assert mrn not in str(dict(row))
    trail = await db.fetch("SELECT new_values::text FROM audit_log WHERE record_id = $1", pid)
    assert trail
    assert all(mrn not in t["new_values"] for t in trail)


async def test_one_live_participant_per_mrn_and_site(client, admin_headers, investigator, site):
    mrn = "DUP-" + uuid.uuid4().hex[:8]
    first = (await enrol(client, investigator, mrn)).json()
    r = await enrol(client, investigator, mrn)
    assert r.status_code == 409
    assert first["study_id"] in r.json()["detail"]
    failed = await client.post(
        f"/api/v1/participants/{first['id']}/screening",
        json=screening_body(aclf_diagnosis_confirmed=False),
        headers=investigator.headers,
    )
    assert failed.json()["status"] == "screen_failed"
    assert (await enrol(client, investigator, mrn)).status_code == 201  # re-screened person
    other_site = await make_site_with_mrn(client, admin_headers)
    other = await make_actor(client, admin_headers, "investigator", other_site)
    assert (await enrol(client, other, mrn)).status_code == 201  # another hospital's number


async def test_correcting_and_removing_the_mrn(client, investigator):
    created = (await enrol(client, investigator, "OLD-" + uuid.uuid4().hex[:6])).json()
    url = f"/api/v1/participants/{created['id']}"
    etag = (await client.get(url, headers=investigator.headers)).headers["etag"]
    body = {"mrn": "NEW-0001-" + uuid.uuid4().hex[:4], "reason": "typing error at enrolment"}
    r = await client.patch(url, json=body, headers=investigator.headers | {"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["mrn"]["value"] == body["mrn"]
    r = await client.patch(
        url,
        json={"mrn": None, "reason": "wrong patient linked"},
        headers=investigator.headers | {"If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200
    assert r.json()["mrn"] is None


async def test_an_mrn_needs_the_sites_system(client, admin_headers):
    r = await client.post(
        "/api/v1/sites",
        json={"code": "N" + uuid.uuid4().hex[:6].upper(), "name": "no mrn"},
        headers=admin_headers,
    )
    code = r.json()["code"]
    inv = await make_actor(client, admin_headers, "investigator", code)
    r = await enrol(client, inv, "X-1")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "mrn"
    site = await client.get(f"/api/v1/sites/{code}", headers=admin_headers)
    r = await client.patch(
        f"/api/v1/sites/{code}",
        json={"mrn_system": "urn:oid:1.2.156.999.1", "reason": "EHR linkage"},
        headers=admin_headers | {"If-Match": site.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    assert (await enrol(client, inv, "X-1")).status_code == 201
    for bad in ("   ", "x" * 65, "tab\tinside", "ümlaut"):
        r = await enrol(client, inv, bad)
        assert r.status_code == 422, bad
    r = await client.patch(
        f"/api/v1/sites/{code}",
        json={"mrn_system": "not a uri", "reason": "typo"},
        headers=admin_headers | {"If-Match": '"2"'},
    )
    assert r.status_code == 422
