"""What per-site study-id numbering costs: concurrent audited participant INSERTs (as the app
role) with the per-site counter row (migration 0006) and with the global sequence it replaced.

    .venv/bin/python benchmarks/study_id_contention.py [--seconds 4] [--writers 8]

The counter row is locked from the INSERT to the commit, so enrolments at one site take
turns; at different sites they do not. Uses TEST_DATABASE_URL/DATABASE_URL or the embedded
PostgreSQL; works in a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
import uuid

import asyncpg
from audit_overhead import migrate, server_url

from app.db.migrations.sql_0006_security import STUDY_ID, STUDY_ID_0001

INSERT = (
    "INSERT INTO participants (site_id, date_of_birth, sex, status)"
    " VALUES ($1, '1970-01-01', 'male', 'screening')"
)


async def rate(pool: asyncpg.Pool, sites: list[uuid.UUID], seconds: float, writers: int) -> float:
    count = 0
    stop = time.perf_counter() + seconds

    async def writer(i: int) -> None:
        nonlocal count
        async with pool.acquire() as conn:
            while time.perf_counter() < stop:
                async with conn.transaction():
                    await conn.execute("SELECT set_config('role', 'trial_app', true)")
                    await conn.execute(INSERT, sites[i % len(sites)])
                count += 1

    await asyncio.gather(*[writer(i) for i in range(writers)])
    return count / seconds


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--writers", type=int, default=8)
    args = parser.parse_args()
    server = server_url()
    name = f"bench_study_ids_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    head, _, tail = server.partition("?")
    url = head.rsplit("/", 1)[0] + f"/{name}" + (f"?{tail}" if tail else "")
    try:
        await migrate(url)
        conn = await asyncpg.connect(url)
        sites = [
            await conn.fetchval(
                "INSERT INTO sites (code, name) VALUES ($1, 'bench') RETURNING id", f"B{i}"
            )
            for i in range(args.writers)
        ]
        pool = await asyncpg.create_pool(url, min_size=args.writers, max_size=args.writers)
        cases = [
            ("per-site counter, one site", STUDY_ID, sites[:1]),
            ("per-site counter, a site per writer", STUDY_ID, sites),
            ("global sequence (before 0006), one site", STUDY_ID_0001, sites[:1]),
        ]
        for label, trigger, used in cases:
            if trigger is STUDY_ID_0001:
                await conn.execute("CREATE SEQUENCE participant_number_seq START 100000")
                await conn.execute("GRANT USAGE ON SEQUENCE participant_number_seq TO trial_app")
            await conn.execute(trigger)
            rates = [await rate(pool, used, args.seconds, args.writers) for _ in range(3)]
            figures = "  ".join(f"{r:6.0f}" for r in rates)
            print(f"{label:42s} {figures}  inserts/s ({args.writers} writers, 3 runs)")
        await pool.close()
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
