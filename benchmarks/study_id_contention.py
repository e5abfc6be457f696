"""What per-site study-id numbering costs: concurrent audited participant INSERTs (as the app
role) with the per-site sequences of the current schema (migration 0011) and with the global
sequence of the first release.

    .venv/bin/python benchmarks/study_id_contention.py [--seconds 4] [--writers 8]

A sequence never waits, so neither case should make enrolments take turns. (Migration 0006's
counter row, which did, is gone since 0011; its figures stay in docs/benchmarks.md.)
Uses TEST_DATABASE_URL/DATABASE_URL or the embedded
PostgreSQL; works in a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import asyncpg
from audit_overhead import scratch_database

from app.db.migrations.sql_0006_security import STUDY_ID_0001

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
    async with scratch_database("bench_study_ids") as url:
        conn = await asyncpg.connect(url)
        sites = [
            await conn.fetchval(
                "INSERT INTO sites (code, name) VALUES ($1, 'bench') RETURNING id", f"B{i}"
            )
            for i in range(args.writers)
        ]
        pool = await asyncpg.create_pool(url, min_size=args.writers, max_size=args.writers)
        cases = [
            ("per-site sequence (head), one site", None, sites[:1]),
            ("per-site sequence (head), a site per writer", None, sites),
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


if __name__ == "__main__":
    asyncio.run(main())
