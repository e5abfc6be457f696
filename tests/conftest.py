"""Test fixtures: a fresh PostgreSQL database per run, built by the migrations.

The server is the embedded PostgreSQL unless TEST_DATABASE_URL names one. Each run creates
its own database and drops it at the end, so runs never see each other's records (and the
audit trail, which refuses deletes, never needs cleaning).
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.main import create_app
from app.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "test-admin-token-" + secrets.token_hex(16)
# Test keys for MRNs, fresh per run (docs/fhir.md: never these in production), and the
# public origin the SMART client assertions are addressed to. In the environment, so that
# every Settings() of the run (and get_settings()) sees the same values.
os.environ.setdefault("MRN_HMAC_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
os.environ.setdefault(
    "MRN_ENCRYPTION_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
)
os.environ.setdefault("PUBLIC_BASE_URL", "http://test")
os.environ.setdefault(
    "WEBHOOK_SECRET_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
)
# service processes started by tests deliver nothing unless a test asks (its receivers are
# local http: the development flag)
os.environ.setdefault("WEBHOOK_WORKER", "false")
os.environ.setdefault("WEBHOOK_ALLOW_HTTP", "true")
get_settings.cache_clear()  # importing app.main read the settings before these were set


def _server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    from app.db.embedded import embedded_database_url

    return embedded_database_url(ROOT / ".data" / "test")


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{tail}" if tail else "")


def _connect_kwargs(url: str) -> dict[str, object]:
    return {"dsn": _plain(url)}


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server = _server_url()
    name = f"trial_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(**_connect_kwargs(server))  # type: ignore[arg-type]
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield _with_database(server, name)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        TRIAL_BOOTSTRAP_ADMIN_TOKEN=ADMIN_TOKEN,
        max_page_size=100,
        db_pool_size=5,
        webhook_worker=False,  # tests/api/test_webhooks_*.py run their own workers
        webhook_allow_http=True,  # their receivers are local http servers
    )


@pytest.fixture(scope="session")
async def app(settings: Settings):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture(scope="session")
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def db(database_url: str, app) -> AsyncIterator[asyncpg.Connection]:  # type: ignore[no-untyped-def]
    """A direct connection (as the owner) to the migrated test database, for checks and for
    changes made behind the service's back."""
    conn = await asyncpg.connect(_plain(database_url))
    try:
        yield conn
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`uvicorn app.main:app --workers N` as a real OS process group."""

    def __init__(
        self, database_url: str, workers: int = 2, extra_env: dict[str, str] | None = None
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TRIAL_BOOTSTRAP_ADMIN_TOKEN": ADMIN_TOKEN,
            **(extra_env or {}),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not become ready")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)


@pytest.fixture(scope="session")
def server(database_url: str, app) -> Iterator[ServerProcess]:  # type: ignore[no-untyped-def]
    """Two uvicorn workers on the same test database (after the app fixture migrated it)."""
    proc = ServerProcess(database_url, workers=2)
    proc.wait_ready()
    yield proc
    proc.stop()


def unique(prefix: str = "") -> str:
    return (prefix + uuid.uuid4().hex[:8]).upper()


class IsolatedApp:
    """A throw-away database + app + client, for tests that must own the whole database
    (tamper tests, exact report counts)."""

    def __init__(self) -> None:
        self.server = _server_url()
        self.name = f"trial_iso_{os.getpid()}_{secrets.token_hex(3)}"
        self.url = _with_database(self.server, self.name)

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(_plain(self.server))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def __aenter__(self) -> IsolatedApp:
        await self._admin(f'CREATE DATABASE "{self.name}"')
        self.app = create_app(
            Settings(
                database_url=self.url,
                TRIAL_BOOTSTRAP_ADMIN_TOKEN=ADMIN_TOKEN,
                db_pool_size=2,
                webhook_worker=False,
            )
        )
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test"
        )
        self.db = await asyncpg.connect(_plain(self.url))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.db.close()
        await self.client.aclose()
        await self._lifespan.__aexit__(None, None, None)
        await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
