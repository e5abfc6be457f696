"""Randomization over HTTP: roles, refusals, idempotent repeat, concealment."""

from __future__ import annotations

import pytest

from tests.helpers import (
    make_actor,
    make_eligible,
    make_participant,
    new_allocation_list,
    randomize,
)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 201),
        ("statistician", 201),
        ("investigator", 403),
        ("coordinator", 403),
        ("monitor", 403),
        ("dsmb", 403),
        ("integration", 403),
    ],
)
async def test_list_creation_roles(client, admin_headers, site, role, status):
    actor = await make_actor(
        client,
        admin_headers,
        role,
        site if role in {"investigator", "coordinator", "integration"} else None,
    )
    if status == 201:
        body = await new_allocation_list(client, actor.headers)
        assert body["size"] == 20
        assert len(body["commitment_sha256"]) == 64
    else:
        r = await client.post("/api/v1/randomization/lists", json={}, headers=actor.headers)
        assert r.status_code == status
        assert r.headers["content-type"] == "application/problem+json"
        r = await client.get("/api/v1/randomization/lists", headers=actor.headers)
        assert r.status_code == status


async def test_second_active_list_is_409(client, admin_headers):
    await new_allocation_list(client, admin_headers)
    r = await client.post("/api/v1/randomization/lists", json={}, headers=admin_headers)
    assert r.status_code == 409


async def test_randomize_then_repeat_returns_same_allocation(client, admin_headers, investigator):
    p = await make_eligible(client, investigator)
    first = await randomize(client, admin_headers, investigator, p["id"])
    again = await client.post(
        f"/api/v1/participants/{p['id']}/randomization", headers=investigator.headers
    )
    assert again.status_code == 200
    assert again.json() == first
    got = await client.get(
        f"/api/v1/participants/{p['id']}/randomization", headers=investigator.headers
    )
    assert got.json() == first
    participant = await client.get(f"/api/v1/participants/{p['id']}", headers=investigator.headers)
    assert participant.json()["status"] == "randomized"
    assert participant.json()["arm"] == first["arm"]


async def test_refusals(client, admin_headers, investigator):
    await new_allocation_list(client, admin_headers)
    screening_only = await make_participant(client, investigator)
    r = await client.post(
        f"/api/v1/participants/{screening_only['id']}/randomization", headers=investigator.headers
    )
    assert r.status_code == 409
    assert "eligible" in r.json()["detail"]
    no_consent = await make_eligible(client, investigator, consent=False)
    r = await client.post(
        f"/api/v1/participants/{no_consent['id']}/randomization", headers=investigator.headers
    )
    assert r.status_code == 409
    assert "consent" in r.json()["detail"]
