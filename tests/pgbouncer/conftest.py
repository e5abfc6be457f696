"""The app scaled out the production way: replicas -> PgBouncer (transaction pooling) -> PostgreSQL.

`pgbouncer` is Debian's PgBouncer (installed by scripts/ensure-test-tools when missing) in
TRANSACTION pooling mode in front of the test database server (TCP, or the embedded server's
unix socket). Two app processes ("replicas": 2 workers and 1 worker) reach the database only
through it, with DB_PGBOUNCER=true; `server` (which overrides the session fixture of that name
inside this package) is a round-robin TCP balancer in front of both replicas, so the
concurrency tests of tests/api can run here unchanged. Migrations run directly against
PostgreSQL first (the session `app` fixture), as deployment does.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import ROOT, ServerProcess, _plain, free_port

PGBOUNCER_BIN = "/usr/sbin/pgbouncer"
POOL_SIZE = 8  # server connections per database/user: fewer than the clients', on purpose


def pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer") or (
        PGBOUNCER_BIN if os.access(PGBOUNCER_BIN, os.X_OK) else None
    )
    if found:
        return found
    with suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure-test-tools")], timeout=600)
    return shutil.which("pgbouncer") or (
        PGBOUNCER_BIN if os.access(PGBOUNCER_BIN, os.X_OK) else None
    )


def backend_of(url: str) -> tuple[str, int, str, str]:
    """(host or socket folder, port, user, database) of a postgresql:// URL."""
    parts = urlsplit(_plain(url))
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
    port = parts.port or int(query.get("port", ["5432"])[0])
    return host, port, parts.username or "postgres", parts.path.lstrip("/")


class PgBouncer:
    def __init__(self, binary: str, backend_url: str) -> None:
        host, port, self.user, self.database = backend_of(backend_url)
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        (self.dir / "userlist.txt").write_text(f'"{self.user}" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            f"""\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.dir}/userlist.txt
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 1000
logfile = {self.dir}/pgbouncer.log
pidfile = {self.dir}/pgbouncer.pid
"""
        )
        args = [binary]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            args += ["-u", self._run_as(host)]
        args.append(str(self.dir / "pgbouncer.ini"))
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_listening()

    def _run_as(self, host: str) -> str:
        """The socket folder's owner can reach the embedded server's socket; else nobody."""
        user = pwd.getpwuid(os.stat(host).st_uid).pw_name if host.startswith("/") else "nobody"
        entry = pwd.getpwnam(user)
        self.dir.chmod(0o755)
        for path in (self.dir, *self.dir.iterdir()):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return user

    def _wait_listening(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"pgbouncer did not start: {self.log()}")

    def url(self, database: str | None = None) -> str:
        name = database or self.database
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{name}"

    def log(self) -> str:
        with suppress(OSError):
            return (self.dir / "pgbouncer.log").read_text()[-4000:]
        return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class RoundRobinBalancer:
    """A stand-in for the production load balancer: each new TCP connection goes to the next
    replica. Runs its own event loop in a thread, so blocking calls in a test don't stall it."""

    def __init__(self, upstreams: list[tuple[str, int]]) -> None:
        self.upstreams = upstreams
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = [0] * len(upstreams)
        self._next = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self._next % len(self.upstreams)
        self._next += 1
        self.connections[index] += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstreams[index])
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with suppress(Exception):
            writer.close()


class Replicas:
    """What the tests see as `server`: the balancer's URL, and the parts behind it."""

    def __init__(self, bouncer: PgBouncer, procs: list[ServerProcess]) -> None:
        self.bouncer = bouncer
        self.procs = procs
        self.balancer = RoundRobinBalancer([("127.0.0.1", p.port) for p in procs])
        self.url = self.balancer.url


@pytest.fixture(scope="package")
def pgbouncer(database_url: str, app) -> Iterator[PgBouncer]:  # type: ignore[no-untyped-def]
    """(`app` first: it migrates the test database directly, before anything goes through
    PgBouncer.)"""
    binary = pgbouncer_binary()
    if binary is None and os.environ.get("CI") == "true":
        pytest.fail(
            "CI must run the PgBouncer tests: scripts/ensure-test-tools could not install it"
        )
    if binary is None:
        pytest.skip(
            "PgBouncer is not installed and scripts/ensure-test-tools could not install it "
            "(it needs root and Debian's apt-get): apt-get install pgbouncer"
        )
    bouncer = PgBouncer(binary, database_url)
    yield bouncer
    bouncer.stop()


@pytest.fixture(scope="package")
def server(pgbouncer: PgBouncer) -> Iterator[Replicas]:
    env = {"DB_PGBOUNCER": "true", "RUN_MIGRATIONS_ON_START": "true"}
    procs = [
        ServerProcess(pgbouncer.url(), workers=2, extra_env=env),
        ServerProcess(pgbouncer.url(), workers=1, extra_env=env),
    ]
    try:
        for p in procs:  # (they start side by side)
            p.wait_ready()
        replicas = Replicas(pgbouncer, procs)
        yield replicas
        replicas.balancer.close()
    finally:
        for p in procs:
            p.stop()
