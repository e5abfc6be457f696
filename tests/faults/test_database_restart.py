"""PostgreSQL goes away under a write load and comes back; so do the app processes.

The service must answer 503 problem+json (never 500) while the database is away, become ready
again by itself, and lose nothing it acknowledged: a 201 is a committed, audited write.
"""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx

from tests.faults.conftest import (
    ADMIN,
    CrashableStack,
    assert_audit_chain_valid,
    consistency_problems,
    wait_until,
)
from tests.helpers import make_actor, make_site

WRITERS = 8


async def test_acknowledged_writes_survive_a_postgres_crash(crashable: CrashableStack):
    async with httpx.AsyncClient(base_url=crashable.url, timeout=20) as c:
        site = await make_site(c, ADMIN)
        inv = await make_actor(c, ADMIN, "investigator", site)
        body = {"site_code": site, "date_of_birth": "1971-02-03", "sex": "female"}
        acknowledged: list[str] = []
        unavailable: list[httpx.Response] = []
        unexpected: list[str] = []
        stop = asyncio.Event()

        async def writer() -> None:
            while not stop.is_set():
                try:
                    r = await c.post("/api/v1/participants", json=body, headers=inv.headers)
                except httpx.TransportError as exc:  # the app itself must always answer
                    unexpected.append(repr(exc))
                    continue
                if r.status_code == 201:
                    acknowledged.append(r.json()["id"])
                elif r.status_code == 503:
                    unavailable.append(r)
                    await asyncio.sleep(0.02)
                else:
                    unexpected.append(f"{r.status_code} {r.text[:200]}")

        async def acknowledged_more_than(n: int) -> bool:
            return len(acknowledged) > n

        writers = [asyncio.create_task(writer()) for _ in range(WRITERS)]
        try:
            await wait_until(lambda: acknowledged_more_than(20), timeout=20)
            await asyncio.to_thread(crashable.pg.stop, "immediate")  # crash-like: WAL replay
            await asyncio.sleep(0.8)  # the load keeps coming while the database is away
            during = await c.get("/ready")
            assert during.status_code == 503, during.text
            await asyncio.to_thread(crashable.pg.start)
            back = time.monotonic()

            async def ready() -> bool:
                return (await c.get("/ready")).status_code == 200

            await wait_until(ready, timeout=10)
            ready_after = time.monotonic() - back
            after_restart = len(acknowledged)
            await wait_until(lambda: acknowledged_more_than(after_restart + 20), timeout=20)
        finally:
            stop.set()
            await asyncio.gather(*writers)

    assert unexpected == [], unexpected[:5]
    assert unavailable, "no request saw the outage"
    for r in unavailable:
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.headers.get("retry-after"), r.headers
        assert r.json()["status"] == 503
    assert ready_after < 10

    conn = await crashable.connect()
    try:
        rows = await conn.fetch(
            "SELECT p.id::text AS id, EXISTS (SELECT 1 FROM audit_log a"
            " WHERE a.table_name = 'participants' AND a.record_id = p.id::text"
            " AND a.action = 'INSERT') AS audited"
            " FROM participants p WHERE p.id = ANY($1::uuid[])",
            acknowledged,
        )
        assert len(acknowledged) == len(set(acknowledged))
        assert {r["id"] for r in rows} == set(acknowledged), "an acknowledged write was lost"
        assert all(r["audited"] for r in rows), "an acknowledged write has no audit row"
        assert await consistency_problems(conn, site) == []
    finally:
        await conn.close()
    await assert_audit_chain_valid(crashable.url)


async def test_idempotency_store_survives_a_restart(crashable: CrashableStack):
    key = "restart-" + secrets.token_hex(6)
    async with httpx.AsyncClient(base_url=crashable.url, timeout=20) as c:
        site = await make_site(c, ADMIN)
        inv = await make_actor(c, ADMIN, "investigator", site)
        body = {"site_code": site, "date_of_birth": "1966-06-06", "sex": "male"}
        headers = {**inv.headers, "Idempotency-Key": key}
        first = await c.post("/api/v1/participants", json=body, headers=headers)
        assert first.status_code == 201, first.text
        assert "idempotent-replayed" not in first.headers

    # Every app process and the database go down; new processes come up on the same data.
    await crashable.stop_app()
    await asyncio.to_thread(crashable.pg.stop, "fast")
    await asyncio.to_thread(crashable.pg.start)
    await crashable.start_app(workers=1)  # (replay across workers: tests/api, tests/pgbouncer)

    async with httpx.AsyncClient(base_url=crashable.url, timeout=20) as c:
        for _ in range(2):  # (one at a time: a concurrent twin would be 409 "in flight")
            replay = await c.post("/api/v1/participants", json=body, headers=headers)
            assert replay.status_code == 201, replay.text
            assert replay.headers["idempotent-replayed"] == "true"
            assert replay.json() == first.json()
            assert replay.headers["location"] == first.headers["location"]
        other = await c.post(
            "/api/v1/participants", json={**body, "sex": "female"}, headers=headers
        )
        assert other.status_code == 422, other.text

    conn = await crashable.connect()
    try:
        created = await conn.fetchval(
            "SELECT count(*) FROM participants WHERE created_by = $1::uuid", inv.user_id
        )
        assert created == 1
    finally:
        await conn.close()
