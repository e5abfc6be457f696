"""Real concurrency: two uvicorn worker processes, many simultaneous requests.

The invariants are PostgreSQL's (row lock on the active list, the sequence trigger, UNIQUE
constraints, advisory locks on idempotency keys), so they must hold across processes.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.helpers import all_items, make_actor, make_eligible, make_site, new_allocation_list


async def test_concurrent_randomization_is_exact_across_workers(client, admin_headers, server):
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    coord = await make_actor(client, admin_headers, "coordinator", site)
    await new_allocation_list(client, admin_headers)
    participants = [await make_eligible(client, inv) for _ in range(20)]

    async with httpx.AsyncClient(base_url=server.url, timeout=60) as remote:

        async def call(pid: str, actor) -> httpx.Response:
            return await remote.post(
                f"/api/v1/participants/{pid}/randomization", headers=actor.headers
            )

        calls = [call(p["id"], a) for p in participants for a in (inv, coord)]
        responses = await asyncio.gather(*calls)

    assert {r.status_code for r in responses} <= {200, 201}, [r.text for r in responses]
    assert sum(r.status_code == 201 for r in responses) == 20
    arms_seen: dict[str, set[str]] = {}
    for r in responses:
        body = r.json()
        assert body["sequence_number"] is None  # concealed from site roles
        arms_seen.setdefault(body["participant_id"], set()).add(body["arm"])
    assert all(len(v) == 1 for v in arms_seen.values()), "a participant got two arms"

    active = await _active_list(client, admin_headers)
    slots = await all_items(
        client, f"/api/v1/randomization/lists/{active['id']}/slots", admin_headers
    )
    taken = {s["participant_id"]: (s["sequence_number"], s["arm"]) for s in slots}
    assert set(taken) == {p["id"] for p in participants}, "a slot unused or used twice"
    assert sorted(seq for seq, _ in taken.values()) == list(range(1, 21))
    assert all(taken[pid][1] in arms for pid, arms in arms_seen.items())
    assert Counter(arm for _, arm in taken.values()) == {"control": 10, "exosome": 10}
    extra = await make_eligible(client, inv)
    r = await client.post(f"/api/v1/participants/{extra['id']}/randomization", headers=inv.headers)
    assert r.status_code == 409
    assert "exhausted" in r.json()["detail"]


async def _active_list(client, admin_headers) -> dict:
    lists = await all_items(client, "/api/v1/randomization/lists", admin_headers)
    return next(lst for lst in lists if lst["active"])


async def test_idempotency_key_across_workers_creates_one_record(client, admin_headers, server, db):
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    body = {"site_code": site, "date_of_birth": "1975-03-03", "sex": "male"}
    headers = {**inv.headers, "Idempotency-Key": "enrol-42"}

    async with httpx.AsyncClient(base_url=server.url, timeout=60) as remote:
        responses = await asyncio.gather(
            *[remote.post("/api/v1/participants", json=body, headers=headers) for _ in range(16)]
        )
        assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
        assert any(r.status_code == 201 for r in responses)
        created = await db.fetchval(
            "SELECT count(*) FROM participants WHERE created_by = $1::uuid", inv.user_id
        )
        assert created == 1
        ids = {r.json()["id"] for r in responses if r.status_code == 201}
        assert len(ids) == 1
        for r in responses:
            if r.status_code == 409:
                assert "in flight" in r.json()["detail"]

        replay = await remote.post("/api/v1/participants", json=body, headers=headers)
        assert replay.status_code == 201
        assert replay.json()["id"] in ids
        assert replay.headers["idempotent-replayed"] == "true"

        other = await remote.post(
            "/api/v1/participants", json={**body, "sex": "female"}, headers=headers
        )
        assert other.status_code == 422
        assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"


async def test_same_key_from_another_caller_is_independent(client, admin_headers):
    site = await make_site(client, admin_headers)
    a = await make_actor(client, admin_headers, "investigator", site)
    b = await make_actor(client, admin_headers, "coordinator", site)
    body = {"site_code": site, "date_of_birth": "1975-03-03", "sex": "male"}
    ra = await client.post(
        "/api/v1/participants", json=body, headers={**a.headers, "Idempotency-Key": "k1"}
    )
    rb = await client.post(
        "/api/v1/participants", json=body, headers={**b.headers, "Idempotency-Key": "k1"}
    )
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["id"] != rb.json()["id"]


async def test_failed_request_does_not_consume_the_key(client, admin_headers):
    site = await make_site(client, admin_headers)
    a = await make_actor(client, admin_headers, "investigator", site)
    headers = {**a.headers, "Idempotency-Key": "retry-after-fix"}
    bad = await client.post(
        "/api/v1/participants",
        json={"site_code": site, "date_of_birth": "2999-01-01", "sex": "male"},
        headers=headers,
    )
    assert bad.status_code == 422
    good = await client.post(
        "/api/v1/participants",
        json={"site_code": site, "date_of_birth": "1960-01-01", "sex": "male"},
        headers=headers,
    )
    assert good.status_code == 201


async def test_constraint_race_is_409_not_500(admin_headers, server):
    """Concurrent creates pass the service's existence check together; the UNIQUE index
    refuses all but one, and those answer 409 (never 500)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as remote:
        for attempt in range(5):
            body = {"code": f"RACE{attempt}", "name": "raced"}
            responses = await asyncio.gather(
                *[remote.post("/api/v1/sites", json=body, headers=admin_headers) for _ in range(12)]
            )
            statuses = [r.status_code for r in responses]
            assert statuses.count(201) == 1, statuses
            assert set(statuses) <= {201, 409}, [r.text for r in responses]
