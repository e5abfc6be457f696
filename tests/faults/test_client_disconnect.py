"""Abandoned requests: the client goes away, or the server gives up (request timeout).

Either way nothing may be half-written: a screening and the status change it makes commit
together or not at all, and an Idempotency-Key is consumed only by a committed write, so
the client can always retry with the same key.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from urllib.parse import urlsplit

import httpx

from tests.faults.conftest import (
    ADMIN,
    CrashableStack,
    assert_audit_chain_valid,
    consistency_problems,
    lock_waiters,
    settled,
    wait_until,
)
from tests.helpers import make_actor, make_participant, make_site, screening_body

BODY = json.dumps(screening_body()).encode()  # the very bytes, for the retries too


async def _abandon(
    base_url: str, path: str, headers: dict[str, str], sent: int | None
) -> asyncio.StreamWriter:
    """POST over a raw socket with `sent` bytes of the body (None: all of it); the caller
    then resets the connection."""
    body = BODY
    where = urlsplit(base_url)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    ).encode()
    _, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(head + body[: len(body) if sent is None else sent])
    await writer.drain()
    return writer


async def _setup(base_url: str, n: int):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as c:
        site = await make_site(c, ADMIN)
        inv = await make_actor(c, ADMIN, "investigator", site)
        participants = await asyncio.gather(*[make_participant(c, inv) for _ in range(n)])
    return site, inv, participants


async def test_client_disconnects_leave_no_half_written_record(server, db):
    site, inv, participants = await _setup(server.url, 12)
    partial, whole = participants[:6], participants[6:]
    writers = []
    for i, p in enumerate(partial):  # headers only, or part of the body
        path = f"/api/v1/participants/{p['id']}/screening"
        writers.append(await _abandon(server.url, path, inv.headers, sent=i * 20))
    for p in whole:  # the whole request, then gone at once
        path = f"/api/v1/participants/{p['id']}/screening"
        writers.append(await _abandon(server.url, path, inv.headers, sent=None))
    for w in writers:
        w.transport.abort()  # RST, not a polite FIN
    await asyncio.sleep(0.3)
    await wait_until(lambda: settled(db), timeout=10)

    statuses = dict(
        await db.fetch(
            "SELECT p.id::text, p.status FROM participants p WHERE p.id = ANY($1::uuid[])",
            [p["id"] for p in participants],
        )
    )
    assert all(statuses[p["id"]] == "screening" for p in partial), statuses
    assert await consistency_problems(db, site) == []

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        for p in partial[:2]:  # nothing of the abandoned request stands in the way
            r = await c.post(
                f"/api/v1/participants/{p['id']}/screening",
                json=screening_body(),
                headers=inv.headers,
            )
            assert r.status_code == 201, r.text
    assert await consistency_problems(db, site) == []


async def test_client_gone_while_its_transaction_waits_then_retries(server, db):
    """The request is mid-transaction (stopped at its last INSERT by a lock the test holds)
    when the client resets the connection; a retry with the same key settles it: one
    screening, answered 201 (replayed if the first attempt committed)."""
    site, inv, (p,) = await _setup(server.url, 1)
    key = "gone-" + secrets.token_hex(6)
    headers = {**inv.headers, "Idempotency-Key": key}
    path = f"/api/v1/participants/{p['id']}/screening"

    tx = db.transaction()
    await tx.start()
    try:
        await db.execute("LOCK TABLE idempotency_keys IN EXCLUSIVE MODE")
        writer = await _abandon(server.url, path, headers, sent=None)

        async def waiting() -> bool:
            return await lock_waiters(db, "idempotency_keys") >= 1

        await wait_until(waiting, timeout=20)
        writer.transport.abort()
        await asyncio.sleep(0.2)
    finally:
        await tx.rollback()

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        deadline = time.monotonic() + 10
        while True:
            r = await c.post(
                path, content=BODY, headers={**headers, "Content-Type": "application/json"}
            )
            if r.status_code != 409 or time.monotonic() > deadline:
                break  # 409 = the abandoned attempt still holds the key
            await asyncio.sleep(0.1)
    assert r.status_code == 201, r.text
    count = await db.fetchval(
        "SELECT count(*) FROM screenings WHERE participant_id = $1::uuid", p["id"]
    )
    assert count == 1
    assert await consistency_problems(db, site) == []
    await assert_audit_chain_valid(server.url)


async def test_request_timeout_answers_503_and_records_nothing(crashable: CrashableStack):
    """REQUEST_TIMEOUT_SECONDS is enforced: a request stuck behind a lock is cancelled,
    rolled back and answered 503 problem+json; its Idempotency-Key stays unused."""
    site, inv, (p,) = await _setup(crashable.url, 1)
    key = "slow-" + secrets.token_hex(6)
    headers = {**inv.headers, "Idempotency-Key": key}
    path = f"/api/v1/participants/{p['id']}/screening"
    limit = float(crashable.REQUEST_TIMEOUT_SECONDS)

    conn = await crashable.connect()
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute("LOCK TABLE idempotency_keys IN EXCLUSIVE MODE")
            async with httpx.AsyncClient(base_url=crashable.url, timeout=30) as c:
                start = time.monotonic()
                r = await c.post(path, json=screening_body(), headers=headers)
                elapsed = time.monotonic() - start
        finally:
            await tx.rollback()

        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers.get("retry-after")
        assert "timed out" in r.json()["detail"]
        assert limit * 0.9 <= elapsed < limit + 5, elapsed
        await wait_until(lambda: settled(conn), timeout=10)
        assert (
            await conn.fetchval("SELECT status FROM participants WHERE id = $1::uuid", p["id"])
            == "screening"
        )
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = $1", key) == 0
        assert await consistency_problems(conn, site) == []

        async with httpx.AsyncClient(base_url=crashable.url, timeout=30) as c:
            again = await c.post(path, json=screening_body(), headers=headers)
        assert again.status_code == 201, again.text
        assert "idempotent-replayed" not in again.headers
        assert await consistency_problems(conn, site) == []
    finally:
        await conn.close()
    await assert_audit_chain_valid(crashable.url)
