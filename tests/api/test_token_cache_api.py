"""The token cache of single-statement reads (issue 16; README, Security).

A worker may answer the participant read and list from a token check made up to
TOKEN_CACHE_SECONDS (at most 1 s) earlier. A revocation made through the same worker acts on
them at once; one made elsewhere (another worker, the CLI, SQL) within that second. Writes
always check the token in the database.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from app.settings import Settings
from tests.conftest import ServerProcess
from tests.helpers import make_actor, make_participant, make_site

CACHE_SECONDS = Settings().token_cache_seconds
SCHEDULING_SLACK_S = 0.5  # a request that took its check from the cache may still be running


async def _investigator(client, admin_headers):  # type: ignore[no-untyped-def]
    site = await make_site(client, admin_headers)
    actor = await make_actor(client, admin_headers, "investigator", site)
    participant = await make_participant(client, actor)
    return actor, f"/api/v1/participants/{participant['id']}"


def test_the_cache_lasts_at_most_a_second() -> None:
    assert 0 < CACHE_SECONDS <= 1


async def test_a_logout_in_this_worker_refuses_the_next_read_at_once(client, admin_headers):
    actor, path = await _investigator(client, admin_headers)
    assert (await client.get(path, headers=actor.headers)).status_code == 200
    assert (await client.get("/api/v1/participants", headers=actor.headers)).status_code == 200
    r = await client.post("/api/v1/auth/logout", headers=actor.headers)
    assert r.status_code == 204, r.text
    assert (await client.get(path, headers=actor.headers)).status_code == 401
    assert (await client.get("/api/v1/participants", headers=actor.headers)).status_code == 401


async def test_a_deactivation_in_this_worker_refuses_the_next_read_at_once(client, admin_headers):
    actor, path = await _investigator(client, admin_headers)
    assert (await client.get(path, headers=actor.headers)).status_code == 200
    user = await client.get(f"/api/v1/users/{actor.user_id}", headers=admin_headers)
    r = await client.patch(
        f"/api/v1/users/{actor.user_id}",
        json={"active": False, "reason": "left the study team"},
        headers={**admin_headers, "If-Match": user.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    assert (await client.get(path, headers=actor.headers)).status_code == 401


async def test_a_revocation_elsewhere_stops_reads_within_the_second_and_writes_at_once(
    client, admin_headers, db
):
    actor, path = await _investigator(client, admin_headers)
    assert (await client.get(path, headers=actor.headers)).status_code == 200
    # behind this worker's back, as another worker or the CLI would
    await db.execute("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1", actor.user_id)
    enrol = {"site_code": actor.site_code, "date_of_birth": "1970-05-01", "sex": "female"}
    write = await client.post("/api/v1/participants", json=enrol, headers=actor.headers)
    assert write.status_code == 401, write.text
    # the read still rides on its recent check: this is the cache at work
    assert (await client.get(path, headers=actor.headers)).status_code == 200
    await asyncio.sleep(CACHE_SECONDS)
    assert (await client.get(path, headers=actor.headers)).status_code == 401


async def test_across_workers_a_logout_stops_every_read_within_the_second(
    server: ServerProcess, client, admin_headers
):
    actor, path = await _investigator(client, admin_headers)
    # a new connection per request, so the kernel spreads them over both workers
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, limits=fresh, timeout=10) as remote:
        for _ in range(20):  # every worker has checked and cached the token
            assert (await remote.get(path, headers=actor.headers)).status_code == 200
        r = await remote.post("/api/v1/auth/logout", headers=actor.headers)
        assert r.status_code == 204, r.text
        revoked_at = time.monotonic()
        enrol = {"site_code": actor.site_code, "date_of_birth": "1970-05-01", "sex": "female"}
        for _ in range(6):  # writes: refused at once in every worker
            write = await remote.post("/api/v1/participants", json=enrol, headers=actor.headers)
            assert write.status_code == 401, write.text
        answered: list[tuple[float, int]] = []
        while time.monotonic() - revoked_at < CACHE_SECONDS + SCHEDULING_SLACK_S + 1:
            status = (await remote.get(path, headers=actor.headers)).status_code
            answered.append((time.monotonic() - revoked_at, status))
    assert {status for _, status in answered} <= {200, 401}
    late = [t for t, status in answered if status == 200 and t > CACHE_SECONDS + SCHEDULING_SLACK_S]
    assert late == [], answered
    tail = [status for t, status in answered if t > CACHE_SECONDS + SCHEDULING_SLACK_S]
    assert len(tail) >= 5, answered
    assert set(tail) == {401}, answered
