"""Least privilege in PostgreSQL (SPEC §8, issue 10 finding 3).

Requests run as DB_APP_ROLE (trial_app), which owns nothing, has DML (no DELETE) on the
application's tables and no rights on the audit tables; the audit functions run as the
separate role trial_audit. These tests take the app role the way the service does
(`SET LOCAL ROLE` inside a transaction) and try what the review did as the owner.
"""

from __future__ import annotations

import os
import secrets

import asyncpg
import pytest
from alembic import command
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.engine import make_engine
from app.db.migrate import alembic_config, upgrade_to_head
from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN, IsolatedApp, _plain, _server_url
from tests.helpers import (
    client_from,
    login,
    make_actor,
    make_participant,
    make_password_user,
    make_site,
)

APP_ROLE = "trial_app"
AUDIT_ROLE = "trial_audit"
NO_RIGHTS = {"audit_log", "audit_chain"}
READ_ONLY = {"alembic_version"}
APPEND_ONLY = {"webhook_events"}  # the outbox: an event is a fact (migration 0012)


async def _as_app_role(db: asyncpg.Connection, sql: str) -> None:
    await db.execute("BEGIN")
    try:
        await db.execute(f"SET LOCAL ROLE {APP_ROLE}")
        await db.execute(sql)
    finally:
        await db.execute("ROLLBACK")


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE participants DISABLE TRIGGER audit_row",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "ALTER TABLE audit_chain DISABLE TRIGGER immutable",
        "DROP TRIGGER audit_row ON participants",
        "UPDATE audit_log SET reason = 'rewritten'",
        "DELETE FROM audit_log",
        "SELECT count(*) FROM audit_log",
        "DELETE FROM audit_chain",
        "UPDATE audit_chain SET hash = prev_hash",
        "INSERT INTO audit_chain (chain, seq, audit_id, prev_hash, hash)"
        " VALUES (0, 999999999, 1, '\\x00', '\\x00')",
        "SELECT audit.row_digest('\\x00'::bytea, NULL::audit_log)",
        "INSERT INTO audit.trail (table_name, record_id, action) VALUES ('x', 'y', 'INSERT')",
        "ALTER FUNCTION audit.log_change() SECURITY INVOKER",
        "CREATE OR REPLACE FUNCTION audit.chain_count() RETURNS integer"
        " LANGUAGE sql IMMUTABLE AS 'SELECT 1'",
        "SET session_replication_role = replica",
        "DELETE FROM participants",
        "TRUNCATE participants",
        "DELETE FROM idempotency_keys",
        "CREATE TABLE intruder (id integer)",
        "SELECT audit.enable('sites')",
    ],
)
async def test_the_app_role_is_refused(db, sql):
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await _as_app_role(db, sql)


async def test_the_app_role_reads_the_trail_only_through_the_api_functions(db):
    await db.execute("BEGIN")
    try:
        await db.execute(f"SET LOCAL ROLE {APP_ROLE}")
        assert await db.fetchval("SELECT count(*) FROM audit.trail") > 0
        assert (await db.fetchrow("SELECT * FROM audit.verify_chain()"))["valid"] is True
    finally:
        await db.execute("ROLLBACK")


async def test_the_app_role_owns_nothing_and_cannot_log_in_or_escalate(db):
    owned = await db.fetchval(
        """SELECT (SELECT count(*) FROM pg_class WHERE relowner = $1::regrole)
                + (SELECT count(*) FROM pg_proc WHERE proowner = $1::regrole)
                + (SELECT count(*) FROM pg_namespace WHERE nspowner = $1::regrole)
                + (SELECT count(*) FROM pg_type WHERE typowner = $1::regrole)""",
        APP_ROLE,
    )
    assert owned == 0
    role = await db.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1", APP_ROLE)
    assert not any(role[k] for k in ("rolsuper", "rolcreaterole", "rolcreatedb", "rolbypassrls"))
    assert role["rolcanlogin"] is False
    audit = await db.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1", AUDIT_ROLE)
    assert audit["rolcanlogin"] is False


async def test_audit_functions_run_as_the_audit_role_with_a_pinned_search_path(db):
    rows = await db.fetch(
        """SELECT p.proname, p.prosecdef, pg_get_userbyid(p.proowner) AS owner, p.proconfig
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'audit'
             AND p.proname IN ('log_change', 'chain_link', 'verify_chain', 'anchor_at',
                               'current_anchor')"""
    )
    assert {r["proname"] for r in rows} == {
        "log_change",
        "chain_link",
        "verify_chain",
        "anchor_at",
        "current_anchor",
    }
    for r in rows:
        assert r["prosecdef"], r["proname"]
        assert r["owner"] == AUDIT_ROLE, r["proname"]
        assert "search_path=pg_catalog, pg_temp" in (r["proconfig"] or []), r["proname"]


async def test_every_table_follows_the_grant_convention(db):
    """Tables of later migrations get the app role's DML through ALTER DEFAULT PRIVILEGES;
    this test holds every table, present and future, to the convention."""
    rows = await db.fetch(
        """SELECT c.relname,
                  has_table_privilege($1, c.oid, 'SELECT') AS s,
                  has_table_privilege($1, c.oid, 'INSERT') AS i,
                  has_table_privilege($1, c.oid, 'UPDATE') AS u,
                  has_table_privilege($1, c.oid, 'DELETE') AS d,
                  has_table_privilege($1, c.oid, 'TRUNCATE') AS t,
                  has_table_privilege($1, c.oid, 'REFERENCES') AS r,
                  has_table_privilege($1, c.oid, 'TRIGGER') AS g
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')""",
        APP_ROLE,
    )
    assert len(rows) > 10
    for row in rows:
        name = row["relname"]
        assert (row["d"], row["t"], row["r"], row["g"]) == (False, False, False, False), name
        rights = (row["s"], row["i"], row["u"])
        if name in NO_RIGHTS:
            assert rights == (False, False, False), name
        elif name in READ_ONLY:
            assert rights == (True, False, False), name
        elif name in APPEND_ONLY:
            assert rights == (True, True, False), name
        else:
            assert rights == (True, True, True), name


async def test_tables_created_later_get_the_app_roles_dml(db):
    await db.execute("BEGIN")
    try:
        await db.execute("CREATE TABLE probe_later_migration (id integer)")
        grants = await db.fetchrow(
            "SELECT has_table_privilege($1, 'probe_later_migration', 'INSERT') AS i,"
            " has_table_privilege($1, 'probe_later_migration', 'DELETE') AS d",
            APP_ROLE,
        )
        assert (grants["i"], grants["d"]) == (True, False)
    finally:
        await db.execute("ROLLBACK")


async def test_requests_run_as_the_app_role(app, client, admin_headers, db):
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    p = await make_participant(client, inv)
    written_by = await db.fetchval(
        "SELECT db_user FROM audit_log WHERE table_name = 'participants' AND record_id = $1",
        p["id"],
    )
    assert written_by == APP_ROLE
    user = await make_password_user(client, admin_headers)
    async with client_from(app) as remote:  # a login: no token yet, still the app role
        token_id = (await login(remote, user["username"], user["password"])).json()["id"]
    written_by = await db.fetchval(
        "SELECT db_user FROM audit_log WHERE table_name = 'api_tokens' AND record_id = $1",
        token_id,
    )
    assert written_by == APP_ROLE


async def test_a_missing_app_role_stops_the_service_at_start(database_url):
    application = create_app(
        Settings(
            database_url=database_url, db_app_role="no_such_role", run_migrations_on_start=False
        )
    )
    with pytest.raises(RuntimeError, match="DB_APP_ROLE 'no_such_role'"):
        async with application.router.lifespan_context(application):
            pass


async def test_readiness_is_checked_as_the_app_role():
    async with IsolatedApp() as iso:
        assert (await iso.client.get("/ready")).status_code == 200
        await iso.db.execute(f"REVOKE SELECT ON alembic_version FROM {APP_ROLE}")
        assert (await iso.client.get("/ready")).status_code == 503


async def test_the_security_migration_downgrades_and_upgrades_again():
    """0006's downgrade leaves the roles (they are cluster-wide) but takes back every grant."""
    async with IsolatedApp() as iso:
        cfg = alembic_config()
        engine = create_async_engine(iso.url)

        def run(action: str, target: str):  # type: ignore[no-untyped-def]
            def go(connection):  # type: ignore[no-untyped-def]
                cfg.attributes["connection"] = connection
                getattr(command, action)(cfg, target)

            return go

        try:
            async with engine.begin() as conn:
                await conn.run_sync(run("downgrade", "0005"))  # to before 0006
            grants = await iso.db.fetchval(
                "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = $1",
                APP_ROLE,
            )
            assert grants == 0
            owner = await iso.db.fetchval(
                "SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'log_change'"
            )
            assert owner == await iso.db.fetchval("SELECT current_user")
            async with engine.begin() as conn:
                await conn.run_sync(run("upgrade", "head"))
        finally:
            await engine.dispose()
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert await make_site(iso.client, admin)
        verdict = await iso.client.get("/api/v1/audit/verify", headers=admin)
        assert verdict.json()["valid"] is True, verdict.text


async def test_the_production_setup_without_a_superuser():
    """docs/deployment.md §3a as written: a non-superuser owner runs the migrations, the app
    connects as a login role that is a member of trial_app, and that connection cannot get
    back to the owner's rights (RESET ROLE lands on the login role, not on the owner)."""
    suffix = f"{os.getpid()}_{secrets.token_hex(3)}"
    owner, api, database = f"test_owner_{suffix}", f"test_api_{suffix}", f"trial_prod_{suffix}"
    server = make_url(_server_url())
    superuser = await asyncpg.connect(_plain(_server_url()))

    def url(user: str) -> str:
        return server.set(username=user, password="", database=database).render_as_string(
            hide_password=False
        )

    try:
        await superuser.execute(f"CREATE ROLE {owner} LOGIN")
        await superuser.execute(f"CREATE ROLE {api} LOGIN IN ROLE {APP_ROLE}")
        await superuser.execute(f"GRANT {AUDIT_ROLE} TO {owner}")
        await superuser.execute(f'CREATE DATABASE "{database}" OWNER {owner}')
        settings = Settings(database_url=url(owner), db_pool_size=1)
        engine = make_engine(url(owner), settings)
        try:
            await upgrade_to_head(engine, APP_ROLE)
        finally:
            await engine.dispose()
        app_settings = Settings(
            database_url=url(api),
            run_migrations_on_start=False,
            TRIAL_BOOTSTRAP_ADMIN_TOKEN=ADMIN_TOKEN,
            db_pool_size=2,
        )
        application = create_app(app_settings)
        lifespan = application.router.lifespan_context(application)
        async with lifespan, client_from(application) as http:
            assert (await http.get("/ready")).status_code == 200
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            site = await make_site(http, admin)
            inv = await make_actor(http, admin, "investigator", site)
            assert (await make_participant(http, inv))["study_id"] == f"{site}-0001"
            verdict = (await http.get("/api/v1/audit/verify", headers=admin)).json()
            assert verdict["valid"] is True
            assert verdict["head_hash"]
        direct = await asyncpg.connect(_plain(url(api)))
        try:
            await direct.execute("RESET ROLE")
            assert await direct.fetchval("SELECT current_user") == api
            for sql in (
                "ALTER TABLE participants DISABLE TRIGGER audit_row",
                "UPDATE audit_log SET reason = 'x'",
                "DELETE FROM audit_chain",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await direct.execute(sql)
            writers = await direct.fetch("SELECT DISTINCT db_user FROM audit.trail")
            assert {w["db_user"] for w in writers} == {APP_ROLE}  # bootstrap included
        finally:
            await direct.close()
    finally:
        await superuser.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await superuser.execute(f"DROP ROLE IF EXISTS {api}")
        await superuser.execute(f"DROP ROLE IF EXISTS {owner}")
        await superuser.close()
