"""Electronic signatures and casebook locks (SPEC §13; 21 CFR 11.50, 11.200)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.conftest import _plain
from tests.fhir_bundles import eligible_labs, patient, transaction
from tests.helpers import (
    Actor,
    client_from,
    login,
    make_actor,
    make_participant,
    screening_body,
)

PASSWORD = "a long passphrase 15"


async def signer(client, admin_headers, site, *, full_name: str | None = "Li Wei") -> Actor:  # type: ignore[no-untyped-def]
    username = f"inv-sign-{uuid.uuid4().hex[:8]}"
    body = {"username": username, "role": "investigator", "site_code": site, "password": PASSWORD}
    if full_name:
        body["full_name"] = full_name
    r = await client.post("/api/v1/users", json=body, headers=admin_headers)
    assert r.status_code == 201, r.text
    assert r.json()["full_name"] == full_name
    token = (await login(client, username, PASSWORD)).json()["access_token"]
    return Actor("investigator", token, site, r.json()["id"])


@pytest.fixture(scope="module")
async def inv(client, admin_headers, site) -> Actor:  # type: ignore[no-untyped-def]
    return await signer(client, admin_headers, site)


@pytest.fixture(scope="module")
async def monitor(client, admin_headers) -> Actor:  # type: ignore[no-untyped-def]
    return await make_actor(client, admin_headers, "monitor")


async def sign(client, actor: Actor, pid: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/v1/participants/{pid}/signatures",
        json={"meaning": "approval", "password": password},
        headers=actor.headers,
    )


async def signatures(client, actor: Actor, pid: str) -> dict:  # type: ignore[no-untyped-def]
    r = await client.get(f"/api/v1/participants/{pid}/signatures", headers=actor.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_the_manifest_names_signer_time_meaning_and_the_casebook_hash(client, inv):
    pid = (await make_participant(client, inv))["id"]
    r = await sign(client, inv, pid)
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["signer"]["full_name"] == "Li Wei"
    assert s["signer"]["username"].startswith("inv-sign-")
    assert s["meaning"] == "approval"
    assert s["signed_at"].endswith("Z")
    assert s["status"] == "valid"
    assert len(s["casebook_sha256"]) == 64
    assert "Li Wei" in s["manifest"]
    assert "approval" in s["manifest"]
    listed = await signatures(client, inv, pid)
    assert listed["items"] == [s]
    assert listed["current_casebook_sha256"] == s["casebook_sha256"]


async def test_a_change_after_signing_invalidates_the_signature(client, inv, db):
    pid = (await make_participant(client, inv))["id"]
    first = (await sign(client, inv, pid)).json()
    # the raw-SQL hot path of screening
    r = await client.post(
        f"/api/v1/participants/{pid}/screening", json=screening_body(), headers=inv.headers
    )
    assert r.status_code == 201, r.text
    after = (await signatures(client, inv, pid))["items"][0]
    assert after["status"] == "invalidated"
    assert after["invalidated_by_table"] == "screenings"
    second = (await sign(client, inv, pid)).json()
    assert second["casebook_sha256"] != first["casebook_sha256"]
    # behind the service's back, as the database owner
    await db.execute("UPDATE participants SET sex = 'male' WHERE id = $1::uuid", pid)
    listed = await signatures(client, inv, pid)
    assert [s["status"] for s in listed["items"]] == ["invalidated", "invalidated"]
    assert listed["items"][1]["invalidated_by_table"] == "participants"
    assert listed["current_casebook_sha256"] != second["casebook_sha256"]


async def test_a_signature_cannot_be_edited_or_deleted(client, inv, db):
    pid = (await make_participant(client, inv))["id"]
    sid = (await sign(client, inv, pid)).json()["id"]
    with pytest.raises(asyncpg.PostgresError) as refused:
        await db.execute(
            "UPDATE signatures SET signer_full_name = 'X' WHERE id = $1::uuid",
            sid,
        )
    assert refused.value.sqlstate == "DL003"
    with pytest.raises(asyncpg.PostgresError):
        await db.execute("DELETE FROM signatures WHERE id = $1::uuid", sid)
    trail = await db.fetchval(
        "SELECT count(*) FROM audit_log WHERE table_name = 'signatures' AND record_id = $1", sid
    )
    assert trail == 1


async def test_a_wrong_password_is_403_and_counts_toward_the_login_lockout(
    app, client, admin_headers, site
):
    actor = await signer(client, admin_headers, site)
    pid = (await make_participant(client, actor))["id"]
    async with client_from(app) as there:
        for _ in range(5):
            r = await sign(there, actor, pid, "not my password")
            assert r.status_code == 403, r.text
            assert r.headers["content-type"] == "application/problem+json"
        r = await sign(there, actor, pid)  # the right password, but locked out
        assert r.status_code == 429, r.text
        assert int(r.headers["Retry-After"]) > 0
    username = (await client.get(f"/api/v1/users/{actor.user_id}", headers=admin_headers)).json()[
        "username"
    ]
    assert (await login(client, username, PASSWORD)).status_code == 429
    assert (await signatures(client, actor, pid))["items"] == []


async def test_only_an_investigator_of_the_site_signs(client, admin_headers, site, inv):
    pid = (await make_participant(client, inv))["id"]
    coordinator = await make_actor(client, admin_headers, "coordinator", site)
    assert (await sign(client, coordinator, pid)).status_code == 403
    other_site = (
        await client.post(
            "/api/v1/sites",
            json={"code": f"SG{uuid.uuid4().hex[:4].upper()}", "name": "x"},
            headers=admin_headers,
        )
    ).json()["code"]
    stranger = await signer(client, admin_headers, other_site)
    assert (await sign(client, stranger, pid)).status_code == 404
    nameless = await signer(client, admin_headers, site, full_name=None)
    r = await sign(client, nameless, pid)
    assert r.status_code == 409
    assert "full name" in r.json()["detail"]


async def test_casebook_lock_needs_a_signature_and_refuses_writes(client, inv, monitor, db):
    pid = (await make_participant(client, inv))["id"]
    other = (await make_participant(client, inv))["id"]
    lock = f"/api/v1/participants/{pid}/lock"
    r = await client.post(lock, headers=monitor.headers)
    assert r.status_code == 409
    assert "signed" in r.json()["detail"]
    assert (await client.post(lock, headers=inv.headers)).status_code == 403
    await sign(client, inv, pid)
    r = await client.post(lock, headers=monitor.headers)
    assert r.status_code == 200, r.text
    assert r.json()["locked"] is True
    r = await client.post(
        f"/api/v1/participants/{pid}/screening", json=screening_body(), headers=inv.headers
    )
    assert r.status_code == 409, r.text
    assert "casebook of participant" in r.json()["detail"]
    assert r.json()["type"].endswith("/data-locked")
    fhir = await client.post(
        "/fhir",
        json=transaction(eligible_labs(patient(pid), "2026-01-01T08:00:00+00:00")),
        headers={**inv.headers, "Content-Type": "application/fhir+json"},
    )
    assert fhir.status_code == 409
    assert fhir.json()["resourceType"] == "OperationOutcome"
    with pytest.raises(asyncpg.PostgresError) as refused:
        await db.execute("UPDATE participants SET sex = 'male' WHERE id = $1::uuid", pid)
    assert refused.value.sqlstate == "DL002"
    r = await client.post(
        f"/api/v1/participants/{other}/screening", json=screening_body(), headers=inv.headers
    )
    assert r.status_code == 201, r.text  # another participant is not locked
    state = await client.get(lock, headers=inv.headers)
    assert state.json()["locked"] is True
    unlock = f"/api/v1/participants/{pid}/unlock"
    assert (await client.post(unlock, json={}, headers=monitor.headers)).status_code == 422
    r = await client.post(unlock, json={"reason": "query answered late"}, headers=monitor.headers)
    assert r.status_code == 200, r.text
    assert r.json()["unlock_reason"] == "query answered late"
    r = await client.post(
        f"/api/v1/participants/{pid}/screening", json=screening_body(), headers=inv.headers
    )
    assert r.status_code == 201, r.text


async def test_a_write_waits_while_a_signature_or_lock_is_being_made(client, inv, db, database_url):
    """Signing and locking hold the participant's advisory key exclusively (the lock trigger
    holds it shared): a write cannot slip between the casebook's hash and the signature."""
    pid = (await make_participant(client, inv))["id"]
    writer = await asyncpg.connect(_plain(database_url))
    await db.execute("BEGIN")
    try:
        await db.execute("SELECT pg_advisory_xact_lock(724502, hashtext($1))", pid)
        await writer.execute("SET lock_timeout = '50ms'")
        with pytest.raises(asyncpg.exceptions.LockNotAvailableError):
            await writer.execute("UPDATE participants SET sex = 'male' WHERE id = $1::uuid", pid)
    finally:
        await db.execute("ROLLBACK")
        await writer.close()
    await writer_done(database_url, pid)


async def writer_done(database_url: str, pid: str) -> None:
    """Once the key is free the same write goes through."""
    conn = await asyncpg.connect(_plain(database_url))
    try:
        await conn.execute("UPDATE participants SET sex = 'male' WHERE id = $1::uuid", pid)
    finally:
        await conn.close()


async def test_signatures_are_a_page_like_every_list(client, inv):
    pid = (await make_participant(client, inv))["id"]
    for _ in range(2):
        assert (await sign(client, inv, pid)).status_code == 201
    r = await client.get(
        f"/api/v1/participants/{pid}/signatures?limit=1&offset=1", headers=inv.headers
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (2, 1, 1, 1)
    assert len(page["current_casebook_sha256"]) == 64
