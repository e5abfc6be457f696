"""The audit trail: written by PostgreSQL triggers, append-only, tamper-evident."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import asyncpg
import pytest

from tests.conftest import ADMIN_TOKEN, ROOT, IsolatedApp
from tests.helpers import make_actor, make_participant, make_site


@pytest.fixture(scope="module")
async def setup(client, admin_headers):
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    monitor = await make_actor(client, admin_headers, "monitor")
    return inv, monitor


async def test_api_writes_are_audited_with_actor_reason_and_values(client, setup):
    inv, monitor = setup
    p = await make_participant(client, inv)
    r = await client.patch(
        f"/api/v1/participants/{p['id']}",
        json={"sex": "male", "reason": "sex mis-keyed at enrolment"},
        headers={**inv.headers, "If-Match": '"1"', "X-Request-ID": "req-audit-1"},
    )
    assert r.status_code == 200
    trail = await client.get(
        f"/api/v1/audit?table=participants&record_id={p['id']}", headers=monitor.headers
    )
    items = trail.json()["items"]
    assert [i["action"] for i in items] == ["INSERT", "UPDATE"]
    update = items[1]
    assert update["old_values"]["sex"] == "female"
    assert update["new_values"]["sex"] == "male"
    assert update["reason"] == "sex mis-keyed at enrolment"
    assert update["actor_user_id"] == inv.user_id
    assert update["actor_role"] == "investigator"
    assert update["actor_site"] == inv.site_code
    assert update["request_id"] == "req-audit-1"
    assert update["occurred_at"].endswith("Z")


async def test_direct_sql_changes_are_audited_too(client, setup, db):
    inv, monitor = setup
    p = await make_participant(client, inv)
    await db.execute("UPDATE participants SET sex = 'male' WHERE id = $1::uuid", p["id"])
    trail = await client.get(
        f"/api/v1/audit?table=participants&record_id={p['id']}", headers=monitor.headers
    )
    last = trail.json()["items"][-1]
    assert last["action"] == "UPDATE"
    assert last["actor_user_id"] is None
    assert last["db_user"] == "postgres"
    assert last["new_values"]["sex"] == "male"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_log SET reason = 'rewritten'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log CASCADE",
        "UPDATE audit_chain SET hash = 'x'",
        "DELETE FROM audit_chain",
        "TRUNCATE audit_chain",
    ],
)
async def test_audit_trail_refuses_changes(db, sql):
    with pytest.raises(asyncpg.PostgresError):
        await db.execute(sql)


async def test_audit_refuses_changes_even_in_replica_mode(db):
    await db.execute("SET session_replication_role = replica")
    try:
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await db.execute("UPDATE audit_log SET reason = 'x'")
    finally:
        await db.execute("RESET session_replication_role")


async def test_clinical_rows_are_never_hard_deleted(db):
    with pytest.raises(asyncpg.PostgresError, match="never hard-deleted"):
        await db.execute("DELETE FROM participants")
    with pytest.raises(asyncpg.PostgresError, match="never hard-deleted"):
        await db.execute("TRUNCATE participants CASCADE")


async def test_verify_reports_a_valid_chain(client, admin_headers):
    r = await client.get("/api/v1/audit/verify", headers=admin_headers)
    body = r.json()
    assert body["valid"] is True
    assert body["checked"] > 0
    assert body["first_invalid"] is None


async def _isolated_trail():
    iso = IsolatedApp()
    await iso.__aenter__()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    site = await make_site(iso.client, admin)
    inv = await make_actor(iso.client, admin, "investigator", site)
    for _ in range(3):
        await make_participant(iso.client, inv)
    ok = (await iso.client.get("/api/v1/audit/verify", headers=admin)).json()
    assert ok["valid"] is True
    return iso, admin


async def test_verify_detects_an_altered_row():
    iso, admin = await _isolated_trail()
    try:
        target = await iso.db.fetchval("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 4")
        await iso.db.execute("ALTER TABLE audit_log DISABLE TRIGGER ALL")
        await iso.db.execute("UPDATE audit_log SET reason = 'forged' WHERE id = $1", target)
        body = (await iso.client.get("/api/v1/audit/verify", headers=admin)).json()
        assert body["valid"] is False
        assert body["first_invalid"] == target
    finally:
        await iso.__aexit__()


async def test_verify_detects_a_deleted_row():
    iso, admin = await _isolated_trail()
    try:
        target = await iso.db.fetchval("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 2")
        await iso.db.execute("ALTER TABLE audit_log DISABLE TRIGGER ALL")
        await iso.db.execute("ALTER TABLE audit_chain DISABLE TRIGGER ALL")
        await iso.db.execute("DELETE FROM audit_log WHERE id = $1", target)
        body = (await iso.client.get("/api/v1/audit/verify", headers=admin)).json()
        assert body["valid"] is False
        assert body["first_invalid"] == target
    finally:
        await iso.__aexit__()


async def test_verify_detects_a_row_inserted_behind_the_services_back():
    iso, admin = await _isolated_trail()
    try:
        await iso.db.execute("ALTER TABLE audit_log DISABLE TRIGGER ALL")
        forged = await iso.db.fetchval(
            "INSERT INTO audit_log (table_name, record_id, action) "
            "VALUES ('participants', 'x', 'INSERT') RETURNING id"
        )
        body = (await iso.client.get("/api/v1/audit/verify", headers=admin)).json()
        assert body["valid"] is False
        assert body["first_invalid"] == forged
    finally:
        await iso.__aexit__()


async def test_account_audit_rows_are_for_admins_only(client, setup, admin_headers):
    _, monitor = setup
    for table in ("users", "api_tokens"):
        seen = await client.get(f"/api/v1/audit?table={table}", headers=monitor.headers)
        assert seen.status_code == 200
        assert seen.json()["total"] == 0, table
        assert (await client.get(f"/api/v1/audit?table={table}", headers=admin_headers)).json()[
            "total"
        ] > 0
    everything = await client.get("/api/v1/audit?limit=100", headers=monitor.headers)
    assert not {i["table_name"] for i in everything.json()["items"]} & {"users", "api_tokens"}
    assert (await client.get("/api/v1/audit?table=participants", headers=monitor.headers)).json()[
        "total"
    ] > 0


async def test_verify_returns_a_head_anchor_that_later_checks_out(client, setup, admin_headers):
    inv, monitor = setup
    head = (await client.get("/api/v1/audit/verify", headers=monitor.headers)).json()
    assert head["valid"] is True
    assert isinstance(head["head_id"], int)
    assert len(head["head_hash"]) == 64
    assert head["anchor_ok"] is None
    await make_participant(client, inv)  # the trail grows after the anchor was taken
    url = f"/api/v1/audit/verify?anchor_id={head['head_id']}&anchor_hash={head['head_hash']}"
    later = (await client.get(url, headers=monitor.headers)).json()
    assert later["valid"] is True
    assert later["anchor_ok"] is True
    assert later["head_id"] > head["head_id"]
    wrong = "0" * 64
    url = f"/api/v1/audit/verify?anchor_id={head['head_id']}&anchor_hash={wrong}"
    assert (await client.get(url, headers=monitor.headers)).json()["anchor_ok"] is False
    only_one = await client.get(
        f"/api/v1/audit/verify?anchor_id={head['head_id']}", headers=monitor.headers
    )
    assert only_one.status_code == 422
    bad_hash = await client.get(
        "/api/v1/audit/verify?anchor_id=1&anchor_hash=xyz", headers=monitor.headers
    )
    assert bad_hash.status_code == 422


REBUILD_CHAIN = """
DO $$
DECLARE
  link record;
  prev bytea;
  cur integer := -1;
BEGIN
  FOR link IN SELECT c.chain, c.seq, a AS row FROM audit_chain c
              JOIN audit_log a ON a.id = c.audit_id ORDER BY c.chain, c.seq LOOP
    IF link.chain <> cur THEN
      cur := link.chain;
      prev := audit.genesis(cur);
    END IF;
    UPDATE audit_chain SET prev_hash = prev, hash = audit.row_digest(prev, link.row)
      WHERE chain = link.chain AND seq = link.seq;
    prev := audit.row_digest(prev, link.row);
  END LOOP;
END $$
"""


async def test_an_anchor_catches_a_chain_rebuilt_after_tampering():
    """A superuser edits a row and reseals every chain: verify alone says valid; the anchor
    kept outside the database says the history changed."""
    iso, admin = await _isolated_trail()
    try:
        anchor = await _cli_anchor(iso.url)
        target = await iso.db.fetchval("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 3")
        assert target < anchor["anchor_id"]
        await iso.db.execute("ALTER TABLE audit_log DISABLE TRIGGER ALL")
        await iso.db.execute("ALTER TABLE audit_chain DISABLE TRIGGER ALL")
        await iso.db.execute("UPDATE audit_log SET reason = 'forged' WHERE id = $1", target)
        await iso.db.execute(REBUILD_CHAIN)
        url = (
            f"/api/v1/audit/verify?anchor_id={anchor['anchor_id']}"
            f"&anchor_hash={anchor['anchor_hash']}"
        )
        body = (await iso.client.get(url, headers=admin)).json()
        assert body["valid"] is True, body
        assert body["anchor_ok"] is False
    finally:
        await iso.__aexit__()


async def _cli_anchor(url: str) -> dict:
    """`python -m app.cli audit-anchor` against the throw-away database, as an operator would."""
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("TRIAL_BOOTSTRAP_ADMIN_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "audit-anchor",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    anchor = json.loads(out)
    assert {"anchor_id", "anchor_hash", "taken_at", "checked"} <= anchor.keys()
    return anchor
