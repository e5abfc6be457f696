"""Lock-guard write overhead (migration 0013): the same audited single-row INSERT of a
clinical row (`treatments`), with the data-management triggers (lock check, advisory keys,
signature invalidation) and with them disabled, serially and concurrently, as the app role.

    .venv/bin/python -m benchmarks.lock_overhead [--seconds 5] [--concurrency 1 8]

Uses TEST_DATABASE_URL/DATABASE_URL or the embedded PostgreSQL; works in a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
import uuid

import asyncpg

from benchmarks.audit_overhead import scratch_database

TRIGGERS = "TRIGGER datamgmt_guard, {verb} TRIGGER datamgmt_after"
INSERT = (
    "INSERT INTO treatments (participant_id, category, name, start_date)"
    " VALUES ($1, 'other', $2, current_date)"
)


async def run(pool: asyncpg.Pool, participants: list[uuid.UUID], seconds: float, n: int) -> float:
    count = 0
    stop = time.perf_counter() + seconds

    async def worker(pid: uuid.UUID) -> None:
        nonlocal count
        async with pool.acquire() as conn:
            while time.perf_counter() < stop:
                async with conn.transaction():
                    await conn.execute("SET LOCAL ROLE trial_app")
                    await conn.execute(INSERT, pid, secrets.token_hex(8))
                count += 1

    await asyncio.gather(*[worker(participants[i % len(participants)]) for i in range(n)])
    return count / seconds


async def setup(conn: asyncpg.Connection) -> list[uuid.UUID]:
    site = await conn.fetchval("INSERT INTO sites (code, name) VALUES ('BN', 'bench') RETURNING id")
    return [
        await conn.fetchval(
            "INSERT INTO participants (site_id, date_of_birth, sex, status)"
            " VALUES ($1, '1970-01-01', 'male', 'screening') RETURNING id",
            site,
        )
        for _ in range(8)
    ]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    async with scratch_database("bench_lock") as url:
        pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
        async with pool.acquire() as conn:
            participants = await setup(conn)
        print("| concurrency | guard off tx/s | guard on tx/s | on / off |")  # noqa: T201
        print("|---|---|---|---|")  # noqa: T201
        for workers in args.concurrency:
            async with pool.acquire() as conn:
                await conn.execute(
                    "ALTER TABLE treatments DISABLE " + TRIGGERS.format(verb="DISABLE")
                )
            off = await run(pool, participants, args.seconds, workers)
            async with pool.acquire() as conn:
                await conn.execute(
                    "ALTER TABLE treatments ENABLE ALWAYS " + TRIGGERS.format(verb="ENABLE ALWAYS")
                )
            on = await run(pool, participants, args.seconds, workers)
            print(f"| {workers} | {off:.0f} | {on:.0f} | {on / off:.2f} |")  # noqa: T201
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
