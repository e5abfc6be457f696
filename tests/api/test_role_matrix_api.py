"""Every role against every route (the REST API and /fhir): allowed, or 403.

"Allowed" means the role passes authorization (any answer but 401/403); the policy table is
app/auth.py. A role outside the policy must get 403 problem+json.
"""

from __future__ import annotations

import pytest

from app import auth
from app.interop.fhir.capability import SUPPORTED
from tests.helpers import make_actor, make_eligible, make_site, screening_body

SITE_BOUND = {"investigator", "coordinator", "integration"}
FHIR = "application/fhir+json"  # /fhir answers OperationOutcome, never problem+json


@pytest.fixture(scope="module")
async def world(client, admin_headers):
    site = await make_site(client, admin_headers)
    actors = {}
    for role in auth.ROLES:
        if role == "admin":
            continue
        actors[role] = await make_actor(
            client, admin_headers, role, site if role in SITE_BOUND else None
        )
    inv = actors["investigator"]
    participant = await make_eligible(client, inv)
    return {"site": site, "actors": actors, "participant": participant["id"], "user": inv.user_id}


def routes(world) -> list[tuple[str, str, dict | None, frozenset[str]]]:
    pid = world["participant"]
    site = world["site"]
    uid = world["user"]
    nobody = "00000000-0000-0000-0000-000000000000"
    anchor = "anchor_id=1&anchor_hash=" + "0" * 64
    return [
        ("GET", f"/api/v1/users/{uid}", None, auth.ADMIN),
        ("PATCH", f"/api/v1/users/{uid}", {"reason": "x"}, auth.ADMIN),
        ("GET", f"/api/v1/users/{uid}/tokens", None, auth.ADMIN),
        ("POST", f"/api/v1/users/{uid}/tokens", {"expires_in_days": 0}, auth.ADMIN),
        ("POST", f"/api/v1/tokens/{nobody}/revoke", None, auth.ADMIN),
        ("GET", f"/api/v1/audit/verify?{anchor}", None, auth.AUDIT_READERS),
        ("GET", f"/api/v1/randomization/lists/{nobody}", None, auth.ALLOCATION_ADMINS),
        ("GET", f"/api/v1/randomization/lists/{nobody}/slots", None, auth.ALLOCATION_ADMINS),
        ("GET", "/api/v1/sites", None, auth.ANY_ROLE),
        ("POST", "/api/v1/sites", {"code": "RM", "name": "x", "timezone": "Nowhere"}, auth.ADMIN),
        ("GET", "/api/v1/users", None, auth.ADMIN),
        ("POST", "/api/v1/users", {"username": "x"}, auth.ADMIN),
        ("GET", "/api/v1/participants", None, auth.PARTICIPANT_READERS),
        ("POST", "/api/v1/participants", {"site_code": site}, auth.CLINICAL_WRITERS),
        ("GET", f"/api/v1/participants/{pid}", None, auth.PARTICIPANT_READERS),
        ("PATCH", f"/api/v1/participants/{pid}", {"reason": "x"}, auth.CLINICAL_WRITERS),
        ("POST", f"/api/v1/participants/{pid}/screening", {"labs": {}}, auth.CLINICAL_WRITERS),
        ("GET", f"/api/v1/participants/{pid}/screening", None, auth.PARTICIPANT_READERS),
        ("GET", "/api/v1/screenings", None, auth.PARTICIPANT_READERS),
        ("POST", f"/api/v1/participants/{pid}/consent", {}, auth.CLINICAL_WRITERS),
        ("POST", "/api/v1/calculators/symptom-score", {}, auth.ANY_ROLE),
        ("POST", "/api/v1/calculators/child-pugh", {}, auth.ANY_ROLE),
        ("POST", "/api/v1/calculators/cossh-aclf-ii", {}, auth.ANY_ROLE),
        ("GET", "/api/v1/audit", None, auth.AUDIT_READERS),
        ("GET", "/api/v1/audit/verify", None, auth.AUDIT_READERS),
        ("GET", "/api/v1/randomization/lists", None, auth.ALLOCATION_ADMINS),
        ("POST", "/api/v1/randomization/lists", {"block_sizes": [3]}, auth.ALLOCATION_ADMINS),
        ("GET", f"/api/v1/participants/{pid}/randomization", None, auth.PARTICIPANT_READERS),
        ("POST", f"/api/v1/participants/{pid}/randomization/x", None, frozenset()),
        ("GET", "/api/v1/exports/sdtm", None, auth.EXPORTERS),
        ("GET", "/api/v1/exports/odm", None, auth.EXPORTERS),
        *_record_routes(pid, "lab-results", {"analyte": "crp"}),
        *_record_routes(pid, "treatments", {"category": "other"}),
        ("GET", f"/api/v1/sites/{site}", None, auth.ANY_ROLE),
        ("PATCH", f"/api/v1/sites/{site}", {"reason": "role matrix"}, auth.ADMIN),
        ("GET", "/api/v1/integration-clients", None, auth.ADMIN),
        ("POST", "/api/v1/integration-clients", {}, auth.ADMIN),
        ("GET", f"/api/v1/integration-clients/{nobody}", None, auth.ADMIN),
        ("POST", f"/api/v1/integration-clients/{nobody}/deactivate", {}, auth.ADMIN),
        ("GET", "/api/v1/webhooks", None, auth.ADMIN),
        ("POST", "/api/v1/webhooks", {"url": "x"}, auth.ADMIN),
        ("GET", f"/api/v1/webhooks/{nobody}", None, auth.ADMIN),
        ("DELETE", f"/api/v1/webhooks/{nobody}", None, auth.ADMIN),
        ("GET", f"/api/v1/webhooks/{nobody}/deliveries", None, auth.ADMIN),
        *_data_management_routes(pid, nobody),
        *_fhir_routes(pid),
    ]


def _data_management_routes(
    pid: str, nobody: str
) -> list[tuple[str, str, dict | None, frozenset[str]]]:
    """SPEC §13: locks, signatures, SDV, queries. The study lock is followed at once by its
    unlock (an admin walking the matrix locks the shared database for a moment only)."""
    query = f"/api/v1/queries/{nobody}"
    return [
        ("GET", "/api/v1/study/lock", None, auth.ANY_ROLE),
        ("POST", "/api/v1/study/lock", None, auth.ADMIN),
        ("POST", "/api/v1/study/unlock", {"reason": "role matrix"}, auth.ADMIN),
        ("GET", f"/api/v1/participants/{pid}/lock", None, auth.PARTICIPANT_READERS),
        ("POST", f"/api/v1/participants/{pid}/lock", None, auth.CASEBOOK_LOCKERS),
        ("POST", f"/api/v1/participants/{pid}/unlock", {"reason": "x"}, auth.CASEBOOK_LOCKERS),
        ("GET", f"/api/v1/participants/{pid}/signatures", None, auth.PARTICIPANT_READERS),
        ("POST", f"/api/v1/participants/{pid}/signatures", {}, auth.SIGNERS),
        ("GET", f"/api/v1/participants/{pid}/sdv", None, auth.PARTICIPANT_READERS),
        ("POST", f"/api/v1/participants/{pid}/sdv", {}, auth.SDV_MARKERS),
        ("GET", "/api/v1/queries", None, auth.PARTICIPANT_READERS),
        ("POST", "/api/v1/queries", {}, auth.DATA_REVIEWERS),
        ("GET", query, None, auth.PARTICIPANT_READERS),
        ("POST", f"{query}/responses", {"text": "x"}, auth.QUERY_RESPONDERS),
        ("POST", f"{query}/close", None, auth.DATA_REVIEWERS),
        ("POST", f"{query}/reopen", None, auth.DATA_REVIEWERS),
    ]


def _fhir_routes(pid: str) -> list[tuple[str, str, dict | None, frozenset[str]]]:
    """Read and search of every FHIR resource type, and the lab transaction (SPEC §10)."""
    out: list[tuple[str, str, dict | None, frozenset[str]]] = [
        ("POST", "/fhir", {"resourceType": "Bundle"}, auth.CLINICAL_WRITERS)
    ]
    for support in SUPPORTED:
        roles = auth.ANY_ROLE if support.type == "ResearchStudy" else auth.PARTICIPANT_READERS
        one = "PT-MSCs-EVS-2023-1" if support.type == "ResearchStudy" else pid
        out += [("GET", f"/fhir/{support.type}", None, roles)]
        out += [("GET", f"/fhir/{support.type}/{one}", None, roles)]
    return out


def _record_routes(
    pid: str, kind: str, body: dict
) -> list[tuple[str, str, dict | None, frozenset[str]]]:
    """List, record, read, correct and void of one versioned record type (SPEC §7)."""
    base = f"/api/v1/participants/{pid}/{kind}"
    one = f"{base}/00000000-0000-0000-0000-000000000000"
    return [
        ("GET", base, None, auth.PARTICIPANT_READERS),
        ("POST", base, body, auth.CLINICAL_WRITERS),
        ("GET", one, None, auth.PARTICIPANT_READERS),
        ("PATCH", one, {"reason": "role matrix"}, auth.CLINICAL_WRITERS),
        ("POST", one + "/void", {"reason": "role matrix"}, auth.CLINICAL_WRITERS),
    ]


ROLES_UNDER_TEST = [r for r in auth.ROLES if r != "admin"]


@pytest.mark.parametrize("role", ROLES_UNDER_TEST)
async def test_role_matrix(client, world, role):
    actor = world["actors"][role]
    for method, path, body, allowed in routes(world):
        r = await client.request(method, path, json=body, headers=actor.headers)
        if role in allowed:
            assert r.status_code not in (401, 403), (role, method, path, r.text)
        elif allowed:
            assert r.status_code == 403, (role, method, path, r.status_code, r.text)
            expected = FHIR if path.startswith("/fhir") else "application/problem+json"
            assert r.headers["content-type"] == expected


async def test_admin_matrix(client, world, admin_headers):
    try:
        for method, path, body, allowed in routes(world):
            r = await client.request(method, path, json=body, headers=admin_headers)
            if "admin" in allowed:
                assert r.status_code not in (401, 403), (method, path, r.text)
            elif allowed:
                assert r.status_code == 403, (method, path, r.text)
    finally:  # never leave the shared database locked
        await client.post(
            "/api/v1/study/unlock", json={"reason": "role matrix"}, headers=admin_headers
        )


async def test_every_table_of_participant_data_carries_the_lock_guard(db):
    """The lock is enforced by one trigger on every table holding a participant's data (a
    `participant_id` column, and `participants`): whatever route or SQL writes there is
    refused while the study or the casebook is locked. A table added later needs it too."""
    data_management = {"casebook_locks", "signatures", "sdv_marks", "queries", "query_messages"}
    tables = {
        r["table_name"]
        for r in await db.fetch(
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_name = 'participant_id'"
            " AND table_name NOT IN ('audit_log')"
        )
    }
    guarded = {
        r["relname"]
        for r in await db.fetch(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname = 'datamgmt_guard' AND t.tgenabled = 'A'"
        )
    }
    assert tables - data_management | {"participants"} == guarded


async def test_randomize_is_investigator_or_coordinator_only(client, world, admin_headers):
    for role in ["monitor", "statistician", "dsmb", "integration"]:
        r = await client.post(
            f"/api/v1/participants/{world['participant']}/randomization",
            headers=world["actors"][role].headers,
        )
        assert r.status_code == 403, role
    r = await client.post(
        f"/api/v1/participants/{world['participant']}/randomization", headers=admin_headers
    )
    assert r.status_code == 403


async def test_screening_body_for_unknown_participant(client, world):
    r = await client.post(
        "/api/v1/participants/00000000-0000-0000-0000-000000000000/screening",
        json=screening_body(),
        headers=world["actors"]["investigator"].headers,
    )
    assert r.status_code == 404


@pytest.mark.parametrize("role", auth.ROLES)
async def test_every_role_may_log_out_its_own_token(client, world, admin_headers, role):
    if role == "admin":
        user_id = (
            await client.post(
                "/api/v1/users",
                json={"username": f"logout-admin-{world['site'].lower()}", "role": "admin"},
                headers=admin_headers,
            )
        ).json()["id"]
    else:
        user_id = world["actors"][role].user_id
    r = await client.post(f"/api/v1/users/{user_id}/tokens", json={}, headers=admin_headers)
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/sites", headers=headers)).status_code == 401
