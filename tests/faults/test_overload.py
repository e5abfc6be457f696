"""Overload degrades, never fails (SPEC §5): no connection slot left answers 503, not 500.

On the fault tests' own (throw-away) PostgreSQL, the test takes every connection slot the
server has left ("sorry, too many clients already", SQLSTATE 53300) while a service runs
(2 workers, pools of 10). Requests that need a new connection then meet the refusal: every
answer must be a success or a 503 problem+json with Retry-After. Once the slots are given
back, the service serves everything again without a restart.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

import asyncpg
import httpx

from tests.conftest import ServerProcess, _plain
from tests.faults.conftest import ADMIN, DedicatedPostgres

CONCURRENT = 48
MAX_HOGS = 1000


async def _burst(base: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as c:
        return await asyncio.gather(
            *[c.get("/api/v1/sites", headers=ADMIN) for _ in range(CONCURRENT)]
        )


async def _take_every_slot(dsn: str) -> list[asyncpg.Connection]:
    hogs: list[asyncpg.Connection] = []
    for _ in range(MAX_HOGS):
        try:
            hogs.append(await asyncpg.connect(dsn))
        except asyncpg.TooManyConnectionsError:
            return hogs
    raise AssertionError("the server never ran out of connection slots")


async def test_no_connection_slot_answers_503_with_retry_after(dedicated_pg: DedicatedPostgres):
    url = await dedicated_pg.create_database()
    app = ServerProcess(url, workers=2, extra_env={"DB_POOL_SIZE": "10"})
    await asyncio.to_thread(app.wait_ready)
    hogs = await _take_every_slot(_plain(dedicated_pg.admin_url))
    try:
        responses = await _burst(app.url)
        assert {r.status_code for r in responses} <= {200, 503}, [
            r.text for r in responses if r.status_code != 200
        ]
        refused = [r for r in responses if r.status_code == 503]
        assert refused, "no request needed a new connection: the test proves nothing"
        for r in refused:
            assert r.headers["content-type"] == "application/problem+json"
            assert int(r.headers["retry-after"]) >= 1
    finally:
        for hog in hogs:
            with suppress(Exception):
                await hog.close()
    try:
        again = await _burst(app.url)
        assert {r.status_code for r in again} == {200}
    finally:
        await asyncio.to_thread(app.stop)
