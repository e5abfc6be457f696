"""Audit-trail write overhead: the same single-row INSERT transaction, on a plain table and
on an audited one (row trigger + hash-chain link at commit), serially and concurrently.

    .venv/bin/python benchmarks/audit_overhead.py [--seconds 5] [--concurrency 1 8]

Uses TEST_DATABASE_URL/DATABASE_URL or the embedded PostgreSQL; works in a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]


def server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        import sys

        sys.path.insert(0, str(ROOT))
        from app.db.embedded import embedded_database_url

        url = embedded_database_url(ROOT / ".data" / "bench")
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def migrate(url: str) -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from app.db.engine import make_engine
    from app.db.migrate import upgrade_to_head
    from app.settings import Settings

    engine = make_engine(url.replace("postgresql://", "postgresql+asyncpg://"), Settings())
    await upgrade_to_head(engine)
    await engine.dispose()


@asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[str]:
    """A migrated throw-away database on the benchmark's server, dropped afterwards."""
    server = server_url()
    name = f"{prefix}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    head, _, tail = server.partition("?")
    try:
        url = head.rsplit("/", 1)[0] + f"/{name}" + (f"?{tail}" if tail else "")
        await migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(pool: asyncpg.Pool, table: str, seconds: float, workers: int) -> float:
    count = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        async with pool.acquire() as conn:
            while time.perf_counter() < stop:
                async with conn.transaction():
                    await conn.execute(
                        f"INSERT INTO {table} (payload) VALUES ($1)", secrets.token_hex(16)
                    )
                count += 1

    await asyncio.gather(*[worker() for _ in range(workers)])
    return count / seconds


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--chains", type=int, default=None, help="override audit.chain_count() (default 16)"
    )
    args = parser.parse_args()
    async with scratch_database("bench_audit") as url:
        pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
        async with pool.acquire() as conn:
            for t in ("bench_plain", "bench_audited"):
                await conn.execute(
                    f"CREATE TABLE {t} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
                    " payload text, created_at timestamptz DEFAULT now())"
                )
            await conn.execute("SELECT audit.enable('bench_audited')")
            if args.chains:
                await conn.execute(
                    "CREATE OR REPLACE FUNCTION audit.chain_count() RETURNS integer"
                    f" LANGUAGE sql IMMUTABLE AS $$ SELECT {int(args.chains)} $$"
                )
        print("| concurrency | plain tx/s | audited tx/s | audited / plain |")  # noqa: T201
        print("|---|---|---|---|")  # noqa: T201
        for workers in args.concurrency:
            plain = await run(pool, "bench_plain", args.seconds, workers)
            audited = await run(pool, "bench_audited", args.seconds, workers)
            print(f"| {workers} | {plain:.0f} | {audited:.0f} | {audited / plain:.2f} |")  # noqa: T201
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
