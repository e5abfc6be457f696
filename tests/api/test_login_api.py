"""Login hardening (SPEC §8, issue 10 finding 2): lockout per username and per address, the
same work for unknown users, password hashing off the event loop, re-authentication."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app import security
from app.auth import Principal
from app.problems import ProblemError
from tests.helpers import client_from, login, make_password_user, unique_address

LOCKOUT_SECONDS = 15 * 60


def assert_locked(r) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert 0 < int(r.headers["retry-after"]) <= LOCKOUT_SECONDS


async def test_five_failures_lock_the_username_right_password_or_not(app, client, admin_headers):
    user = await make_password_user(client, admin_headers)
    async with client_from(app) as remote:
        for _ in range(5):
            assert (await login(remote, user["username"], "wrong password")).status_code == 401
        assert_locked(await login(remote, user["username"], "wrong password"))
        r = await login(remote, user["username"], user["password"])
        assert_locked(r)
        assert int(r.headers["retry-after"]) > LOCKOUT_SECONDS - 60
    async with client_from(app) as elsewhere:  # the username is locked from every address
        assert_locked(await login(elsewhere, user["username"], user["password"]))


async def test_unknown_usernames_lock_the_same_way(app):
    async with client_from(app) as remote:
        for _ in range(5):
            assert (await login(remote, "nobody-by-that-name", "guess")).status_code == 401
        assert_locked(await login(remote, "nobody-by-that-name", "guess"))


async def test_twenty_failures_lock_the_address(app, client, admin_headers):
    user = await make_password_user(client, admin_headers)
    address = unique_address()
    async with client_from(app, address) as remote:
        for i in range(20):
            assert (await login(remote, f"probe-{i}", "guess")).status_code == 401
        assert_locked(await login(remote, user["username"], user["password"]))
    async with client_from(app) as other:
        assert (await login(other, user["username"], user["password"])).status_code == 200


async def test_a_lockout_ends_after_its_time(app, client, admin_headers, db):
    user = await make_password_user(client, admin_headers)
    async with client_from(app) as remote:
        for _ in range(6):
            await login(remote, user["username"], "wrong password")
        assert_locked(await login(remote, user["username"], user["password"]))
        await db.execute(
            "UPDATE login_throttle SET locked_until = now() - interval '1 second',"
            " failures = '{}' WHERE key LIKE '%' || $1",
            user["username"],
        )
        assert (await login(remote, user["username"], user["password"])).status_code == 200


async def test_a_success_clears_the_usernames_failures(app, client, admin_headers):
    user = await make_password_user(client, admin_headers)
    async with client_from(app) as remote:
        for _ in range(4):
            await login(remote, user["username"], "wrong password")
        assert (await login(remote, user["username"], user["password"])).status_code == 200
        for _ in range(4):
            assert (await login(remote, user["username"], "wrong password")).status_code == 401
        assert (await login(remote, user["username"], user["password"])).status_code == 200


async def test_unknown_users_cost_one_password_verification_like_known_ones(
    app, client, admin_headers, monkeypatch
):
    """Enumeration by timing: every refused login runs exactly one Argon2 verification."""
    calls: list[str] = []
    original = security._hasher().verify

    def counting(password, hashed):  # type: ignore[no-untyped-def]
        calls.append(hashed)
        return original(password, hashed)

    monkeypatch.setattr(security._hasher(), "verify", counting)
    user = await make_password_user(client, admin_headers)
    no_password = f"api-only-{unique_address()}"
    r = await client.post(
        "/api/v1/users", json={"username": no_password, "role": "monitor"}, headers=admin_headers
    )
    assert r.status_code == 201, r.text
    async with client_from(app) as remote:
        for username in (user["username"], "no-such-user-at-all", no_password):
            calls.clear()
            assert (await login(remote, username, "wrong password")).status_code == 401
            assert len(calls) == 1, username
            assert calls[0].startswith("$argon2")


async def test_password_hashing_runs_off_the_event_loop(app, client, admin_headers, monkeypatch):
    """While a login's hash is in progress, an unrelated request is served. The hash is made
    to wait for a signal that is only given after the other request finished: on the event
    loop this would stall everything (the wait times out after 10 s and the test fails)."""
    user = await make_password_user(client, admin_headers)
    entered, release = threading.Event(), threading.Event()
    threads: list[int] = []
    original = security._hasher().verify

    def slow_verify(password, hashed):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        entered.set()
        release.wait(10)
        return original(password, hashed)

    monkeypatch.setattr(security._hasher(), "verify", slow_verify)
    async with client_from(app) as remote:
        pending = asyncio.create_task(login(remote, user["username"], user["password"]))
        for _ in range(1000):
            if entered.is_set():
                break
            await asyncio.sleep(0.01)
        assert entered.is_set()
        other = await asyncio.wait_for(client.get("/api/v1/sites", headers=admin_headers), 30)
        assert other.status_code == 200
        assert not pending.done(), "the unrelated request had to wait for the password hash"
        release.set()
        assert (await pending).status_code == 200
    assert threads
    assert threading.get_ident() not in threads


async def test_reauthentication_failures_count_toward_the_login_lockout(
    app, client, admin_headers, database_url, settings
):
    """The later e-signature feature calls check_password_for_reauthentication."""
    from app.db.durability import must_commit_on_error
    from app.services import login as login_service

    user = await make_password_user(client, admin_headers)
    principal = Principal(uuid.UUID(user["id"]), user["username"], "monitor", None, None, None)
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    address = unique_address()
    try:
        async with sessions() as session, session.begin():
            await login_service.check_password_for_reauthentication(
                session, principal, user["password"], address, settings
            )
        for _ in range(5):
            async with sessions() as session:
                with pytest.raises(ProblemError) as refused:
                    await login_service.check_password_for_reauthentication(
                        session, principal, "wrong password", address, settings
                    )
                assert refused.value.status == 403
                assert must_commit_on_error(session)
                await session.commit()
    finally:
        await engine.dispose()
    async with client_from(app) as remote:
        assert_locked(await login(remote, user["username"], user["password"]))
