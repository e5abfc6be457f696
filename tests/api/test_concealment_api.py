"""Allocation concealment (SPEC §8, issue 10 finding 4): no sequence numbers or block sizes
for site roles or in the public contract, study ids numbered per site, strong seeds."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest

from tests.helpers import (
    make_actor,
    make_participant,
    make_randomized,
    make_site,
    new_allocation_list,
)

SITE_ROLES = ("investigator", "coordinator", "integration")
GLOBAL_READERS = ("monitor", "statistician")


@pytest.fixture(scope="module")
async def site(client, admin_headers):
    return await make_site(client, admin_headers)


async def test_site_roles_never_see_the_sequence_number(client, admin_headers, site):
    inv = await make_actor(client, admin_headers, "investigator", site)
    p, allocation = await make_randomized(client, admin_headers, inv)
    assert allocation["sequence_number"] is None
    assert allocation["arm"] in {"control", "exosome"}
    url = f"/api/v1/participants/{p['id']}/randomization"
    for role in SITE_ROLES:
        actor = await make_actor(client, admin_headers, role, site)
        r = await client.get(url, headers=actor.headers)
        assert r.status_code == 200, r.text
        assert r.json()["sequence_number"] is None, role
    for role in GLOBAL_READERS:
        actor = await make_actor(client, admin_headers, role)
        assert isinstance(
            (await client.get(url, headers=actor.headers)).json()["sequence_number"], int
        )
    assert isinstance((await client.get(url, headers=admin_headers)).json()["sequence_number"], int)


async def test_the_public_contract_reveals_no_block_sizes(client):
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    text = r.text
    assert not re.search(r"\[\s*2\s*,\s*4", text)
    assert not re.search(r"\{\s*2\s*,\s*4", text)
    schema = json.loads(text)["components"]["schemas"]["AllocationListIn"]["properties"]
    block_sizes = json.dumps(schema["block_sizes"])
    assert "default" not in schema["block_sizes"] or schema["block_sizes"]["default"] is None
    assert "examples" not in block_sizes
    assert not re.search(r"\d", schema["block_sizes"].get("description", ""))


async def test_study_ids_are_numbered_per_site(client, admin_headers):
    a = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    b = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    assert (await make_participant(client, a))["study_id"] == f"{a.site_code}-0001"
    assert (await make_participant(client, a))["study_id"] == f"{a.site_code}-0002"
    assert (await make_participant(client, b))["study_id"] == f"{b.site_code}-0001"
    assert (await make_participant(client, a))["study_id"] == f"{a.site_code}-0003"


async def test_study_ids_per_site_stay_unique_and_in_order_under_concurrent_enrolment(
    client, admin_headers, server
):
    site = await make_site(client, admin_headers)
    actors = [await make_actor(client, admin_headers, "coordinator", site) for _ in range(2)]
    body = {"site_code": site, "date_of_birth": "1972-02-02", "sex": "male"}
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as remote:
        responses = await asyncio.gather(
            *[
                remote.post("/api/v1/participants", json=body, headers=actors[i % 2].headers)
                for i in range(20)
            ]
        )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    ids = sorted(r.json()["study_id"] for r in responses)
    assert ids == [f"{site}-{n:04d}" for n in range(1, 21)]


@pytest.mark.parametrize("seed", ["a", "golden-seed-1", "x" * 31])
async def test_a_supplied_seed_needs_32_characters(client, admin_headers, seed):
    r = await client.post("/api/v1/randomization/lists", json={"seed": seed}, headers=admin_headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "seed"


async def test_default_lists_use_blocks_of_2_4_and_6_and_a_256_bit_seed(client, admin_headers):
    statistician = await make_actor(client, admin_headers, "statistician")
    body = await new_allocation_list(client, statistician.headers)
    assert body["block_sizes"] == [2, 4, 6]
    assert len(body["seed"]) == 64  # 32 random bytes, hex
    seeded = await new_allocation_list(client, statistician.headers, seed="s" * 16 + "S" * 16)
    assert seeded["seed"] == "s" * 16 + "S" * 16
