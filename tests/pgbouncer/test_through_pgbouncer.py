"""Scale-out through PgBouncer in transaction pooling mode (see conftest.py for the stack).

In transaction mode consecutive transactions of one app connection may run on different
server connections, so only transaction-scoped state may be relied on: `set_config(..., true)`,
`pg_advisory_xact_lock`, row locks; and no prepared statement may outlive its transaction.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid

import asyncpg
import httpx
from sqlalchemy import text

from app.db.engine import make_engine
from app.db.migrate import migrations_at_head, upgrade_to_head
from app.settings import Settings
from tests.api.test_concurrency_api import (
    test_concurrent_randomization_is_exact_across_workers,
    test_idempotency_key_across_workers_creates_one_record,
)
from tests.conftest import _plain, _with_database
from tests.helpers import make_actor, make_site

# The multi-worker tests of tests/api, collected again here: their `server` is now the
# balancer in front of two replicas that reach PostgreSQL only through PgBouncer.
__all__ = [
    "test_concurrent_randomization_is_exact_across_workers",
    "test_idempotency_key_across_workers_creates_one_record",
]


async def test_audit_context_stays_with_its_own_transaction(client, admin_headers, server, db):
    """Many callers at once over few server connections: every audit row names the caller
    and the request that wrote it (the settings are transaction-local, never leaked)."""
    callers = []
    for _ in range(2):
        site = await make_site(client, admin_headers)
        callers.append(await make_actor(client, admin_headers, "investigator", site))
        callers.append(await make_actor(client, admin_headers, "coordinator", site))

    async with httpx.AsyncClient(base_url=server.url, timeout=60) as remote:

        async def create(actor):  # type: ignore[no-untyped-def]
            request_id = uuid.uuid4().hex
            r = await remote.post(
                "/api/v1/participants",
                json={"site_code": actor.site_code, "date_of_birth": "1970-01-01", "sex": "male"},
                headers={**actor.headers, "X-Request-Id": request_id},
            )
            return actor, request_id, r

        results = await asyncio.gather(*[create(a) for a in callers * 10])

    assert all(r.status_code == 201 for _, _, r in results), [r.text for _, _, r in results]
    audit = {
        row["record_id"]: row
        for row in await db.fetch(
            "SELECT record_id, actor_user_id, actor_role, actor_site, request_id FROM audit_log"
            " WHERE table_name = 'participants' AND action = 'INSERT'"
            " AND record_id = ANY($1::text[])",
            [r.json()["id"] for _, _, r in results],
        )
    }
    for actor, request_id, r in results:
        row = audit[r.json()["id"]]
        assert row["actor_user_id"] == actor.user_id
        assert row["actor_role"] == actor.role
        assert row["actor_site"] == actor.site_code
        assert row["request_id"] == request_id
    assert all(n > 0 for n in server.balancer.connections), "a replica got no traffic"

    r = await client.get("/api/v1/audit/verify", headers=admin_headers)
    assert r.json()["valid"] is True, r.text


async def test_migrations_run_through_pgbouncer(pgbouncer, database_url):
    """Alembic over PgBouncer in transaction mode: one transaction with an xact-level
    advisory lock, so it works; deployment still runs it directly (see docs)."""
    name = f"trial_bouncer_mig_{secrets.token_hex(3)}"
    server = _with_database(database_url, "postgres")
    admin = await asyncpg.connect(_plain(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(pgbouncer.url(name), Settings(database_url="x", db_pgbouncer=True))
        try:
            await upgrade_to_head(engine)
            assert await migrations_at_head(engine)
            async with engine.connect() as conn:
                tables = await conn.scalar(
                    text("SELECT count(*) FROM pg_tables WHERE tablename = 'audit_log'")
                )
            assert tables == 1
        finally:
            await engine.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_the_app_role_never_leaks_to_another_transaction(client, admin_headers, server, db):
    """SET LOCAL ROLE ends with the transaction: a client sharing PgBouncer's few server
    connections with the replicas always runs as its own login role, while every API write
    is made as the app role."""
    site = await make_site(client, admin_headers)
    actor = await make_actor(client, admin_headers, "coordinator", site)
    probe = await asyncpg.connect(_plain(server.bouncer.url()), statement_cache_size=0)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as remote:

            async def enrol() -> httpx.Response:
                return await remote.post(
                    "/api/v1/participants",
                    json={"site_code": site, "date_of_birth": "1970-01-01", "sex": "male"},
                    headers=actor.headers,
                )

            async def ask() -> list[str]:
                return [await probe.fetchval("SELECT current_user") for _ in range(100)]

            *created, seen = await asyncio.gather(*[enrol() for _ in range(30)], ask())
    finally:
        await probe.close()
    assert set(seen) == {server.bouncer.user}
    assert {r.status_code for r in created} == {201}
    writers = await db.fetch(
        "SELECT DISTINCT db_user FROM audit_log WHERE table_name = 'participants'"
        " AND record_id = ANY($1::text[])",
        [r.json()["id"] for r in created],
    )
    assert [w["db_user"] for w in writers] == ["trial_app"]
