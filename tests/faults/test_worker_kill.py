"""A uvicorn worker SIGKILLed while its requests are half-way through their transactions.

The test holds an EXCLUSIVE lock on `idempotency_keys`: every screening sent with an
Idempotency-Key then stops at its last statement, after the screening row, the status change
and their audit rows were written but before COMMIT. The busiest worker is killed there. Its
transactions must vanish whole (PostgreSQL rolls back a connection whose client died); the
other worker's must commit whole; nothing may be half-written.
"""

from __future__ import annotations

import asyncio
import secrets

import httpx

from app.settings import Settings
from tests.faults.conftest import (
    ADMIN,
    assert_audit_chain_valid,
    busiest_worker,
    consistency_problems,
    kill,
    lock_waiters,
    settled,
    wait_until,
)
from tests.helpers import make_actor, make_participant, make_site, screening_body

# Below one worker's pool even if the kernel hands every call to the same worker: a call
# beyond the pool would wait for a connection, answer 503, and never reach the lock.
IN_FLIGHT = Settings.model_fields["db_pool_size"].default - 2


async def test_killed_worker_leaves_no_partial_record(server, db):
    admin = ADMIN
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        site = await make_site(c, admin)
        inv = await make_actor(c, admin, "investigator", site)
        participants = await asyncio.gather(
            *[make_participant(c, inv) for _ in range(IN_FLIGHT + 1)]
        )
    spare, participants = participants[0], participants[1:]

    tx = db.transaction()
    await tx.start()
    await db.execute("LOCK TABLE idempotency_keys IN EXCLUSIVE MODE")
    released = False
    # A fresh client: one connection per request, spread over both workers by the kernel.
    async with httpx.AsyncClient(
        base_url=server.url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
    ) as c:
        try:
            calls = [
                asyncio.create_task(
                    c.post(
                        f"/api/v1/participants/{p['id']}/screening",
                        json=screening_body(),
                        headers={**inv.headers, "Idempotency-Key": secrets.token_hex(8)},
                    )
                )
                for p in participants
            ]

            async def all_waiting() -> bool:
                return await lock_waiters(db, "idempotency_keys") >= IN_FLIGHT

            await wait_until(all_waiting, timeout=30)
            victim, victim_requests = busiest_worker(server)
            assert victim_requests >= 1
            kill(victim)
            await asyncio.sleep(0.5)  # the dead worker's sockets are closed by the kernel
            await tx.rollback()
            released = True
            results = await asyncio.gather(*calls, return_exceptions=True)
        finally:
            if not released:
                await tx.rollback()

    lost = [r for r in results if isinstance(r, Exception)]
    done = [r for r in results if isinstance(r, httpx.Response)]
    assert all(isinstance(e, httpx.TransportError) for e in lost), lost
    assert len(lost) == victim_requests, (len(lost), victim_requests)
    assert all(r.status_code == 201 for r in done), [r.text for r in done]

    # The killed worker's backends see their client gone and roll back; wait for that.
    await wait_until(lambda: settled(db), timeout=10)
    screened = await db.fetchval(
        "SELECT count(*) FROM screenings s JOIN participants p ON p.id = s.participant_id"
        " JOIN sites st ON st.id = p.site_id WHERE st.code = $1",
        site,
    )
    assert screened == len(done), "a request that was not acknowledged left a screening behind"
    assert await consistency_problems(db, site) == []

    # The service goes on: the surviving (or respawned) worker answers, the trail verifies.
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        r = await c.post(
            f"/api/v1/participants/{spare['id']}/screening",
            json=screening_body(),
            headers=inv.headers,
        )
        assert r.status_code == 201, r.text
    await assert_audit_chain_valid(server.url)
